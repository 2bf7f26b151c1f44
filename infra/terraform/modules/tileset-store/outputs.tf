output "bucket_name" {
  description = "Name of the store bucket."
  value       = aws_s3_bucket.store.bucket
}

output "bucket_arn" {
  description = "ARN of the store bucket."
  value       = aws_s3_bucket.store.arn
}

output "store_prefix" {
  description = "Key prefix of the store inside the bucket."
  value       = var.store_prefix
}

output "store_url" {
  description = "The store for tilepress: `--to` of publish/rollback/verify/versions/gc, `--from` of a promotion out of this environment."
  value       = "s3://${aws_s3_bucket.store.bucket}/${var.store_prefix}"
}

output "kms_key_arn" {
  description = "ARN of the store's KMS key (promotion_source.kms_key_arn of the environment that promotes from this one)."
  value       = aws_kms_key.store.arn
}

output "log_bucket_name" {
  description = "Bucket with the S3 access logs (s3/) and CloudFront logs (cdn/)."
  value       = aws_s3_bucket.logs.bucket
}

output "cdn_domain_name" {
  description = "The CloudFront domain (xxxx.cloudfront.net); a set's pointer is https://<domain>/<SET>/current.json."
  value       = aws_cloudfront_distribution.cdn.domain_name
}

output "cdn_url" {
  description = "Base URL of the store on the CDN (custom domain if configured)."
  value       = "https://${length(var.cdn_aliases) > 0 ? var.cdn_aliases[0] : aws_cloudfront_distribution.cdn.domain_name}"
}

output "cdn_distribution_id" {
  description = "CloudFront distribution id (for an emergency invalidation of a pointer)."
  value       = aws_cloudfront_distribution.cdn.id
}

output "cdn_cache_behaviors" {
  description = "What the CDN does per viewer path pattern (the first pattern that matches wins; `default` is everything else, the tiles): cache policy, edge TTL bounds in seconds, edge compression, allowed methods."
  value = merge(
    {
      for b in local.cdn_behaviors : b.path_pattern => {
        cache_policy    = local.cdn_cache_policies[b.cache_policy].name
        min_ttl         = local.cdn_cache_policies[b.cache_policy].min_ttl
        default_ttl     = local.cdn_cache_policies[b.cache_policy].default_ttl
        max_ttl         = local.cdn_cache_policies[b.cache_policy].max_ttl
        compress        = b.compress
        allowed_methods = sort(b.allowed_methods)
      }
    },
    {
      default = {
        cache_policy    = aws_cloudfront_cache_policy.immutable.name
        min_ttl         = aws_cloudfront_cache_policy.immutable.min_ttl
        default_ttl     = aws_cloudfront_cache_policy.immutable.default_ttl
        max_ttl         = aws_cloudfront_cache_policy.immutable.max_ttl
        compress        = aws_cloudfront_distribution.cdn.default_cache_behavior[0].compress
        allowed_methods = sort(aws_cloudfront_distribution.cdn.default_cache_behavior[0].allowed_methods)
      }
    },
  )
}

output "publisher_role_arn" {
  description = "Role for publish, rollback, verify, versions and promote (AWS_ROLE_ARN of the CI environment)."
  value       = aws_iam_role.publisher.arn
}

output "gc_role_arn" {
  description = "Role for `tilepress gc`, the only one that may delete."
  value       = aws_iam_role.gc.arn
}

output "region" {
  description = "Region of the bucket (AWS_REGION for tilepress)."
  value       = local.region
}
