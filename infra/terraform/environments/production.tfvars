# production: served to users. Filled by promotion from staging (and by the nightly job if it
# publishes here directly).
environment         = "production"
region              = "eu-west-1"
allowed_account_ids = ["333333333333"]

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
# eks_oidc_provider_arn = "arn:aws:iam::333333333333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE0123456789"

# `tilepress promote NAME --from <staging store_url> --to <this store_url>` runs as this
# environment's publisher, which gets read-only access to staging's tilesets. Take these values
# from staging's `terraform output promotion_source_for_next_environment`.
promotion_source = {
  bucket_name = "tilepress-staging-store-222222222222"
  prefix      = "tiles"
  kms_key_arn = "arn:aws:kms:eu-west-1:222222222222:key/00000000-0000-0000-0000-000000000000"
}
