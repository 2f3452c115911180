"""Per-namespace S3 identities in a versitygw server (docs/security.md).

Each step namespace gets a versitygw account of role ``user`` and a bucket of its own,
owned by that account (``layout.namespace_bucket``). versitygw lets an account use only
buckets it owns (or that an ACL or bucket policy opens to it); the root account, which
the operator keeps, reaches every bucket. Accounts and buckets are made through
versitygw's admin API (``versitygw admin``, the root keys passed in its environment, never
on a command line) on a server started with ``--iam-dir``.
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass

from kubeline.dev.gobuild import tool_path
from kubeline.resources import layout

#: Prefix of a namespace's account (access key id): ``ns-<namespace>``.
ACCOUNT_PREFIX = "ns-"
#: The role of a namespace's account: its own buckets only, no bucket creation.
ACCOUNT_ROLE = "user"
_EXISTS = ("XAdminUserExists", "BucketAlreadyOwnedByYou", "BucketAlreadyExists")


class S3AdminError(RuntimeError):
    """A versitygw admin call failed."""


@dataclass(frozen=True)
class S3Admin:
    """The admin API of one versitygw server, used with its root keys."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def run(self, *args: str) -> str:
        """``versitygw admin <args>``; stdout, or ``S3AdminError`` with its message."""
        env = {"ADMIN_ACCESS_KEY_ID": self.access_key, "ADMIN_SECRET_ACCESS_KEY": self.secret_key,
               "ADMIN_ENDPOINT_URL": self.endpoint, "ADMIN_REGION": self.region,
               "PATH": "/usr/bin:/bin"}
        result = subprocess.run([str(tool_path("versitygw")), "admin", *args], env=env,
                                capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise S3AdminError(f"versitygw admin {args[0]}: "
                               f"{(result.stderr or result.stdout).strip()[-500:]}")
        return result.stdout

    def ensure_account(self, access_key: str, secret_key: str) -> None:
        """Create the account, or give an existing one this secret key."""
        try:
            self.run("create-user", "--access", access_key, "--secret", secret_key,
                     "--role", ACCOUNT_ROLE)
        except S3AdminError as exc:
            if "XAdminUserExists" not in str(exc):
                raise
            self.run("update-user", "--access", access_key, "--secret", secret_key,
                     "--role", ACCOUNT_ROLE)

    def ensure_bucket(self, bucket: str, owner: str) -> None:
        """Create ``bucket`` owned by ``owner``, or make ``owner`` the owner of it."""
        try:
            self.run("create-bucket", "--bucket", bucket, "--owner", owner)
        except S3AdminError as exc:
            if not any(code in str(exc) for code in _EXISTS):
                raise
            self.run("change-bucket-owner", "--bucket", bucket, "--owner", owner)

    def delete_account(self, access_key: str) -> None:
        self.run("delete-user", "--access", access_key)


def account_name(namespace: str) -> str:
    """The access key id of ``namespace``'s account."""
    return f"{ACCOUNT_PREFIX}{namespace}"


def ensure_namespace_identity(admin: S3Admin, namespace: str, bucket_setting: str
                              ) -> dict[str, str]:
    """Make (or re-key) ``namespace``'s account and bucket; returns the namespace's S3
    settings in the Secret's key layout (docs/contracts.md), with a new secret key."""
    bucket = layout.namespace_bucket(bucket_setting, namespace)
    access, secret = account_name(namespace), secrets.token_urlsafe(30)
    admin.ensure_account(access, secret)
    admin.ensure_bucket(bucket, access)
    return {"bucket": bucket, "endpoint": admin.endpoint, "region": admin.region,
            "accessKeyId": access, "secretAccessKey": secret}


def delete_namespace_identity(admin: S3Admin, namespace: str, bucket_setting: str) -> None:
    """Remove ``namespace``'s bucket (with everything in it) and its account."""
    import s3fs

    bucket = layout.namespace_bucket(bucket_setting, namespace)
    fs = s3fs.S3FileSystem(key=admin.access_key, secret=admin.secret_key,
                           client_kwargs={"endpoint_url": admin.endpoint,
                                          "region_name": admin.region},
                           use_listings_cache=False, skip_instance_cache=True)
    if fs.exists(bucket):
        files = fs.find(bucket)
        if files:
            fs.rm(files)
        fs.rmdir(bucket)
    try:
        admin.delete_account(account_name(namespace))
    except S3AdminError as exc:
        if "NoSuchUser" not in str(exc) and "not exist" not in str(exc).lower():
            raise
