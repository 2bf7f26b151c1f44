# tilepress infrastructure for ONE environment (dev, staging or production), chosen by the
# backend config and tfvars given to `terraform init` / `plan` (see README.md). Each environment
# has its own state, bucket, KMS key, CDN and roles; nothing here is shared between them except,
# optionally, the account's GitHub OIDC provider.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  tags = merge(var.tags, {
    Project     = var.name
    Environment = var.environment
    ManagedBy   = "terraform"
  })

  github_environment = coalesce(var.github_environment, var.environment)

  # The namespace of infra/k8s/overlays/<environment>: what the roles' IRSA trust names.
  k8s_namespace = coalesce(var.k8s_namespace, "tilepress-${var.environment}")

  github_oidc_provider_arn = (
    var.create_github_oidc_provider
    ? aws_iam_openid_connect_provider.github[0].arn
    : coalesce(
      var.github_oidc_provider_arn,
      "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/token.actions.githubusercontent.com",
    )
  )
}

# GitHub Actions' OIDC issuer. IAM trusts its certificate chain through its own CA list; the
# thumbprints are kept only because older providers/APIs required them.
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
  thumbprint_list = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
  ]
}

module "tileset_store" {
  source = "./modules/tileset-store"

  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  name         = var.name
  environment  = var.environment
  bucket_name  = var.bucket_name
  store_prefix = var.store_prefix
  tilesets     = var.tilesets

  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  abort_incomplete_multipart_days    = var.abort_incomplete_multipart_days
  log_retention_days                 = var.log_retention_days
  kms_deletion_window_days           = var.kms_deletion_window_days
  kms_key_admin_arns                 = var.kms_key_admin_arns
  enforce_conditional_pointer_writes = var.enforce_conditional_pointer_writes

  cdn_price_class             = var.cdn_price_class
  cdn_additional_metrics      = var.cdn_additional_metrics
  cdn_aliases                 = var.cdn_aliases
  acm_certificate_arn         = var.acm_certificate_arn
  cors_allowed_origins        = var.cors_allowed_origins
  pointer_default_ttl_seconds = var.pointer_default_ttl_seconds
  pointer_max_ttl_seconds     = var.pointer_max_ttl_seconds
  immutable_min_ttl_seconds   = var.immutable_min_ttl_seconds
  error_caching_ttl_seconds   = var.error_caching_ttl_seconds
  geo_restriction_type        = var.geo_restriction_type
  geo_restriction_locations   = var.geo_restriction_locations
  waf_enabled                 = var.waf_enabled
  waf_rate_limit_per_5min     = var.waf_rate_limit_per_5min

  github_repository             = var.github_repository
  github_environment            = local.github_environment
  github_oidc_provider_arn      = local.github_oidc_provider_arn
  eks_oidc_provider_arn         = var.eks_oidc_provider_arn
  k8s_namespace                 = local.k8s_namespace
  k8s_publisher_service_account = var.k8s_publisher_service_account
  k8s_gc_service_account        = var.k8s_gc_service_account
  max_session_duration_seconds  = var.max_session_duration_seconds
  permissions_boundary_arn      = var.permissions_boundary_arn

  promotion_source           = var.promotion_source
  promotion_reader_role_arns = var.promotion_reader_role_arns
}
