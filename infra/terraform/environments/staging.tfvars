# staging: what the nightly job publishes first; production promotes from here.
environment         = "staging"
region              = "eu-west-1"
allowed_account_ids = ["222222222222"]

tilesets     = ["default", "monaco"]
store_prefix = "tiles"

noncurrent_version_expiration_days = 14
log_retention_days                 = 90

waf_enabled             = true
waf_rate_limit_per_5min = 20000

github_repository           = "example-org/tilepress"
create_github_oidc_provider = true

# Optional: the nightly CronJob on EKS (IRSA). Service accounts tilepress / tilepress-gc in
# namespace tilepress.
# eks_oidc_provider_arn = "arn:aws:iam::222222222222:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE0123456789"

# Production's publisher reads this store for `tilepress promote`. The role must exist before it
# can be named in a bucket/key policy: on the very first rollout apply staging with
# -var='promotion_reader_role_arns=[]', then production, then staging again (README.md).
promotion_reader_role_arns = ["arn:aws:iam::333333333333:role/tilepress-production-publisher"]
