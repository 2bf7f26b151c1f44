# AWS WAF in front of the CDN (CloudFront scope, hence us-east-1). The content is public and
# static, so the threats are abuse and cost: a per-IP rate limit, known-bad IPs and inputs.
# Full WAF request logs are not kept: CloudFront's standard logs (logs.tf) already record every
# request, blocked ones included (sc-status 403, x-edge-result-type Error), and WAF keeps
# sampled requests and per-rule CloudWatch metrics.

resource "aws_wafv2_web_acl" "cdn" {
  #checkov:skip=CKV2_AWS_31:No WAF logging configuration: CloudFront standard logs in the log bucket record every request including those WAF blocked, and sampled requests plus per-rule metrics are enabled; a second full log stream (Firehose or an aws-waf-logs-* bucket) would duplicate them at extra cost.
  count    = var.waf_enabled ? 1 : 0
  provider = aws.us_east_1

  name        = "${local.name}-cdn"
  description = "tilepress ${var.environment} CDN: IP reputation, known bad inputs, per-IP rate limit."
  scope       = "CLOUDFRONT"

  default_action {
    allow {}
  }

  rule {
    name     = "aws-ip-reputation"
    priority = 0
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAmazonIpReputationList"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name}-ip-reputation"
      sampled_requests_enabled   = true
    }
  }

  # Includes the Log4j (CVE-2021-44228) rules.
  rule {
    name     = "aws-known-bad-inputs"
    priority = 1
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name}-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "per-ip-rate-limit"
    priority = 2
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = var.waf_rate_limit_per_5min
        aggregate_key_type = "IP"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name}-rate-limit"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${local.name}-cdn"
    sampled_requests_enabled   = true
  }
}
