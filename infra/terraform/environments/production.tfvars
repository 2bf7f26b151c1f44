# production: served to users. Filled only by promotion from staging (the promote CronJobs of
# infra/k8s/overlays/production, or .github/workflows/promote.yml); nothing builds here.
environment         = "production"
region              = "eu-west-1"
allowed_account_ids = ["333333333333"]

# The store: s3://tilepress-production-tiles/tiles (TILEPRESS_STORE of infra/k8s/overlays/production and
# of the GitHub environment production). Bucket names are global: pick your own, and change the overlay
# with it.
bucket_name  = "tilepress-production-tiles"
tilesets     = ["default", "monaco"]
store_prefix = "tiles"

noncurrent_version_expiration_days = 30
log_retention_days                 = 365
kms_deletion_window_days           = 30

cdn_price_class = "PriceClass_All"
# A custom domain with TLS 1.2+ (the certificate must be in us-east-1):
# cdn_aliases          = ["tiles.example.org"]
# acm_certificate_arn  = "arn:aws:acm:us-east-1:333333333333:certificate/00000000-0000-0000-0000-000000000000"
# cors_allowed_origins = ["https://maps.example.org"]

waf_enabled             = true
waf_rate_limit_per_5min = 20000

github_repository           = "example-org/tilepress"
create_github_oidc_provider = true

# The CronJobs of infra/k8s/overlays/production (IRSA): the roles trust the ServiceAccounts tilepress
# (publisher: promote) and tilepress-gc (gc) in the overlay's namespace. Replace the provider with your
# cluster's (`arn:aws:iam::ACCOUNT:oidc-provider/` + the issuer of `aws eks describe-cluster`, no https://).
eks_oidc_provider_arn         = "arn:aws:iam::333333333333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE0123456789"
k8s_namespace                 = "tilepress-production"
k8s_publisher_service_account = "tilepress"
k8s_gc_service_account        = "tilepress-gc"

# `tilepress promote NAME --from <staging store_url> --to <this store_url>` runs as this
# environment's publisher, which gets read-only access to staging's tilesets. Take these values
# from staging's `terraform output promotion_source_for_next_environment`.
promotion_source = {
  bucket_name = "tilepress-staging-tiles"
  prefix      = "tiles"
  kms_key_arn = "arn:aws:kms:eu-west-1:222222222222:key/00000000-0000-0000-0000-000000000000"
}
