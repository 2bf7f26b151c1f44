# SSE-KMS with a customer managed key (rotated yearly) rather than SSE-S3:
#  - every decrypt is authorised twice (bucket policy AND key policy) and logged in CloudTrail,
#    so a bucket-policy mistake alone cannot expose objects, and the key can be disabled to cut
#    all reads at once;
#  - access can be granted across accounts (promotion from staging) per principal.
# CloudFront reads through Origin Access Control, which supports SSE-KMS once the key policy lets
# the distribution (by ARN) decrypt. An S3 Bucket Key cuts KMS requests (and their cost) from
# one per object to one per bucket key period, which matters with millions of small tiles.
resource "aws_kms_key" "store" {
  description             = "${local.name}: SSE-KMS key of the tileset store bucket ${local.bucket_name}"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = var.kms_deletion_window_days
  # No `policy` here: the key policy names the CloudFront distribution, which names the bucket,
  # which names this key. The policy is therefore its own resource (aws_kms_key_policy.store).
}

resource "aws_kms_alias" "store" {
  name          = "alias/${local.name}-store"
  target_key_id = aws_kms_key.store.key_id
}

data "aws_iam_policy_document" "kms_store" {
  #checkov:skip=CKV_AWS_109:Key policy: "Resource: *" means this key only, and the account-root statement is AWS's required default that delegates key access to IAM policies (which are scoped in iam.tf).
  #checkov:skip=CKV_AWS_111:Key policy: "Resource: *" means this key only; see CKV_AWS_109.
  #checkov:skip=CKV_AWS_356:Key policy: "Resource: *" is the only valid resource in a key policy and means this key.
  statement {
    sid       = "AccountRootDelegatesToIAM"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  dynamic "statement" {
    for_each = length(var.kms_key_admin_arns) > 0 ? [1] : []
    content {
      sid = "KeyAdministrators"
      actions = [
        "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
        "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
        "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
      ]
      resources = ["*"]
      principals {
        type        = "AWS"
        identifiers = var.kms_key_admin_arns
      }
    }
  }

  statement {
    sid       = "CloudFrontOriginAccessControlDecrypt"
    actions   = ["kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.cdn.arn]
    }
  }

  dynamic "statement" {
    for_each = length(var.promotion_reader_role_arns) > 0 ? [1] : []
    content {
      sid       = "PromotionReadersDecryptThroughS3"
      actions   = ["kms:Decrypt"]
      resources = ["*"]
      principals {
        type        = "AWS"
        identifiers = var.promotion_reader_role_arns
      }
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.s3_service]
      }
      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:aws:s3:arn"
        values   = [aws_s3_bucket.store.arn]
      }
    }
  }
}

resource "aws_kms_key_policy" "store" {
  key_id = aws_kms_key.store.id
  policy = data.aws_iam_policy_document.kms_store.json
}
