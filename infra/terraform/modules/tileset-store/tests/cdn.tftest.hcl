# The CDN of the module, applied against mocked providers (no credentials, no network; needs Terraform
# >= 1.7 for mock_provider). Run from this module's directory, like checks.tftest.hcl:
#   terraform init -backend=false -plugin-dir=/opt/tf-plugins   (or with registry access)
#   terraform test
# A plan cannot compare a behaviour's cache_policy_id with a policy's id (both are known only after
# apply); the mocked apply gives every resource an id, so this file checks that each ordered cache
# behaviour of the distribution uses the policy, compression and methods of local.cdn_behaviors (the
# table the output cdn_cache_behaviors reports, which tests/offline_plan.tftest.hcl asserts per
# environment), and that every request lands in the locked-down log bucket.
mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{}"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }
}

mock_provider "aws" {
  alias = "us_east_1"
}

variables {
  name                     = "tilepress"
  environment              = "production"
  tilesets                 = ["default"]
  github_repository        = "example-org/tilepress"
  github_environment       = "production"
  github_oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
}

run "cdn_behaviours_use_their_cache_policies" {
  command = apply

  assert {
    condition     = [for b in aws_cloudfront_distribution.cdn.ordered_cache_behavior : b.path_pattern] == ["*/current.json", "*/archives/*", "*/deltas/*", "*/versions/*"]
    error_message = "The ordered cache behaviours must be the pointer, archives, deltas and versions, in that order (the first match wins)."
  }

  assert {
    condition = alltrue([
      for b in aws_cloudfront_distribution.cdn.ordered_cache_behavior :
      b.cache_policy_id == aws_cloudfront_cache_policy.downloads.id && b.compress == false &&
      b.allowed_methods == toset(["GET", "HEAD"]) && b.cached_methods == toset(["GET", "HEAD"]) &&
      b.viewer_protocol_policy == "https-only" && b.origin_request_policy_id == null
      if contains(["*/archives/*", "*/deltas/*"], b.path_pattern)
    ])
    error_message = "archives/ and deltas/ must use the downloads policy, uncompressed, HTTPS only, GET/HEAD only, no origin request policy."
  }

  assert {
    condition = (
      aws_cloudfront_cache_policy.downloads.min_ttl == 31536000 &&
      aws_cloudfront_cache_policy.downloads.default_ttl == 31536000 &&
      aws_cloudfront_cache_policy.downloads.max_ttl == 31536000 &&
      !aws_cloudfront_cache_policy.downloads.parameters_in_cache_key_and_forwarded_to_origin[0].enable_accept_encoding_gzip &&
      !aws_cloudfront_cache_policy.downloads.parameters_in_cache_key_and_forwarded_to_origin[0].enable_accept_encoding_brotli &&
      aws_cloudfront_cache_policy.downloads.parameters_in_cache_key_and_forwarded_to_origin[0].headers_config[0].header_behavior == "none" &&
      aws_cloudfront_cache_policy.downloads.parameters_in_cache_key_and_forwarded_to_origin[0].query_strings_config[0].query_string_behavior == "none" &&
      aws_cloudfront_cache_policy.downloads.parameters_in_cache_key_and_forwarded_to_origin[0].cookies_config[0].cookie_behavior == "none"
    )
    error_message = "The downloads policy must cache a year (min/default/max) with nothing from the viewer in the key."
  }

  assert {
    condition = alltrue([
      for b in aws_cloudfront_distribution.cdn.ordered_cache_behavior :
      b.cache_policy_id == aws_cloudfront_cache_policy.immutable.id && b.compress == false &&
      b.origin_request_policy_id == aws_cloudfront_origin_request_policy.cors.id
      if b.path_pattern == "*/versions/*"
    ])
    error_message = "versions/ must use the immutable policy, uncompressed, with the CORS origin request policy."
  }

  assert {
    condition = alltrue([
      for b in aws_cloudfront_distribution.cdn.ordered_cache_behavior :
      b.cache_policy_id == aws_cloudfront_cache_policy.pointer.id && b.compress == true
      if b.path_pattern == "*/current.json"
    ])
    error_message = "current.json must use the pointer policy (seconds)."
  }

  assert {
    condition = alltrue([
      for b in aws_cloudfront_distribution.cdn.ordered_cache_behavior :
      b.response_headers_policy_id == aws_cloudfront_response_headers_policy.tiles.id
    ])
    error_message = "Every behaviour must send the CORS and security headers."
  }

  assert {
    condition = (
      aws_cloudfront_distribution.cdn.default_cache_behavior[0].cache_policy_id == aws_cloudfront_cache_policy.immutable.id &&
      aws_cloudfront_distribution.cdn.default_cache_behavior[0].compress == false
    )
    error_message = "The default behaviour (tiles) must stay immutable and uncompressed."
  }

  assert {
    condition     = output.cdn_cache_behaviors["*/archives/*"].cache_policy == aws_cloudfront_cache_policy.downloads.name && output.cdn_cache_behaviors["*/archives/*"].max_ttl == 31536000
    error_message = "The output cdn_cache_behaviors must report the downloads policy for archives/."
  }

  # Standard logging of every request (downloads included) into the log bucket, which is private,
  # encrypted and expiring.
  assert {
    condition = (
      aws_cloudfront_distribution.cdn.logging_config[0].bucket == aws_s3_bucket.logs.bucket_domain_name &&
      aws_cloudfront_distribution.cdn.logging_config[0].prefix == "cdn/" &&
      aws_cloudfront_distribution.cdn.logging_config[0].include_cookies == false
    )
    error_message = "Every CDN request must be logged to the log bucket under cdn/, without cookies."
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.logs.block_public_acls && aws_s3_bucket_public_access_block.logs.block_public_policy &&
      aws_s3_bucket_public_access_block.logs.ignore_public_acls && aws_s3_bucket_public_access_block.logs.restrict_public_buckets
    )
    error_message = "The log bucket must block all public access."
  }

  assert {
    condition     = one([for r in aws_s3_bucket_server_side_encryption_configuration.logs.rule : one(r.apply_server_side_encryption_by_default).sse_algorithm]) == "AES256"
    error_message = "The log bucket must be encrypted (SSE-S3: CloudFront standard logs cannot go to an SSE-KMS default bucket)."
  }

  assert {
    condition     = one([for r in aws_s3_bucket_lifecycle_configuration.logs.rule : one(r.expiration).days if r.id == "expire-logs"]) == var.log_retention_days
    error_message = "The log bucket must expire logs after log_retention_days."
  }

  assert {
    condition     = length(aws_cloudfront_monitoring_subscription.cdn) == 1
    error_message = "CloudFront's additional metrics are on by default."
  }
}

run "cdn_additional_metrics_can_be_turned_off" {
  command = plan

  variables {
    cdn_additional_metrics = false
  }

  assert {
    condition     = length(aws_cloudfront_monitoring_subscription.cdn) == 0
    error_message = "cdn_additional_metrics = false must leave out the monitoring subscription."
  }
}
