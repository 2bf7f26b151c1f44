output "environment" {
  description = "The environment this state describes."
  value       = var.environment
}

output "region" {
  description = "AWS_REGION for tilepress and the CI workflows."
  value       = module.tileset_store.region
}

output "bucket_name" {
  description = "Store bucket."
  value       = module.tileset_store.bucket_name
}

output "store_url" {
  description = "TILEPRESS_STORE: the `--to s3://BUCKET/PREFIX` of publish/rollback/verify/versions/gc (and `--from` of a promotion out of this environment)."
  value       = module.tileset_store.store_url
}

output "cdn_domain_name" {
  description = "CloudFront domain of the store."
  value       = module.tileset_store.cdn_domain_name
}

output "cdn_url" {
  description = "Base URL of the store on the CDN: <cdn_url>/<SET>/current.json is a set's pointer."
  value       = module.tileset_store.cdn_url
}

output "cdn_distribution_id" {
  description = "CloudFront distribution id."
  value       = module.tileset_store.cdn_distribution_id
}

output "cdn_cache_behaviors" {
  description = "Per viewer path pattern (first match wins; `default` = tiles): cache policy, edge TTL bounds, compression, allowed methods."
  value       = module.tileset_store.cdn_cache_behaviors
}

output "publisher_role_arn" {
  description = "AWS_ROLE_ARN: role of publish, rollback, verify, versions, promote."
  value       = module.tileset_store.publisher_role_arn
}

output "gc_role_arn" {
  description = "AWS_GC_ROLE_ARN: role of `tilepress gc`."
  value       = module.tileset_store.gc_role_arn
}

output "kms_key_arn" {
  description = "Store KMS key (promotion_source.kms_key_arn of the environment promoting from this one)."
  value       = module.tileset_store.kms_key_arn
}

output "log_bucket_name" {
  description = "Bucket with the S3 access logs and CloudFront logs."
  value       = module.tileset_store.log_bucket_name
}

output "github_oidc_provider_arn" {
  description = "The GitHub OIDC provider the roles trust."
  value       = local.github_oidc_provider_arn
}

output "github_environment_variables" {
  description = "Variables to set on the GitHub environment of the same name (Settings > Environments > <env> > Variables); none of them is a secret."
  value = {
    TILEPRESS_STORE   = module.tileset_store.store_url
    AWS_ROLE_ARN      = module.tileset_store.publisher_role_arn
    AWS_GC_ROLE_ARN   = module.tileset_store.gc_role_arn
    AWS_REGION        = module.tileset_store.region
    TILEPRESS_CDN_URL = module.tileset_store.cdn_url
  }
}

output "kubernetes_service_accounts" {
  description = "IRSA for infra/k8s/overlays/<environment>: the namespace the roles trust and the eks.amazonaws.com/role-arn annotation of each ServiceAccount (tilepress: publisher, tilepress-gc: gc). The trust exists only with eks_oidc_provider_arn (irsa_enabled)."
  value = {
    irsa_enabled = var.eks_oidc_provider_arn != null
    namespace    = local.k8s_namespace
    role_arns = {
      (var.k8s_publisher_service_account) = module.tileset_store.publisher_role_arn
      (var.k8s_gc_service_account)        = module.tileset_store.gc_role_arn
    }
  }
}

output "promotion_source_store_url" {
  description = "The store this environment promotes from (`--from` of `tilepress promote`; TILEPRESS_STAGING_STORE of the production CronJob), or null."
  value       = var.promotion_source == null ? null : "s3://${var.promotion_source.bucket_name}/${var.promotion_source.prefix}"
}

output "promotion_source_for_next_environment" {
  description = "Paste as promotion_source into the tfvars of the environment that promotes from this one."
  value = {
    bucket_name = module.tileset_store.bucket_name
    prefix      = module.tileset_store.store_prefix
    kms_key_arn = module.tileset_store.kms_key_arn
  }
}
