# staging: what the nightly job publishes first; production promotes from here.
environment         = "staging"
region              = "eu-west-1"
allowed_account_ids = ["222222222222"]

# The store: s3://tilepress-staging-tiles/tiles (TILEPRESS_STORE of infra/k8s/overlays/staging, of the
# GitHub environment staging, and TILEPRESS_STAGING_STORE of production). Bucket names are global: pick
# your own, and change the overlays and production's promotion_source with it.
bucket_name  = "tilepress-staging-tiles"
tilesets     = ["default", "monaco"]
store_prefix = "tiles"

noncurrent_version_expiration_days = 14
log_retention_days                 = 90

waf_enabled             = true
waf_rate_limit_per_5min = 20000

github_repository           = "example-org/tilepress"
create_github_oidc_provider = true

# The CronJobs of infra/k8s/overlays/staging (IRSA): the roles trust the ServiceAccounts tilepress
# (publisher) and tilepress-gc (gc) in the overlay's namespace. Replace the provider with your cluster's
# (`arn:aws:iam::ACCOUNT:oidc-provider/` + the issuer of `aws eks describe-cluster`, without https://).
eks_oidc_provider_arn         = "arn:aws:iam::222222222222:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE0123456789"
k8s_namespace                 = "tilepress-staging"
k8s_publisher_service_account = "tilepress"
k8s_gc_service_account        = "tilepress-gc"

# Production's publisher reads this store for `tilepress promote`. The role must exist before it
# can be named in a bucket/key policy: on the very first rollout apply staging with
# -var='promotion_reader_role_arns=[]', then production, then staging again (README.md).
promotion_reader_role_arns = ["arn:aws:iam::333333333333:role/tilepress-production-publisher"]
