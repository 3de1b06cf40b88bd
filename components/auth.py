"""AuthLayer: Authelia single sign-on (file users or LLDAP), its OIDC provider, and LLDAP when chosen.

Every secret Authelia needs is generated here (or taken from SiteSecrets when
another layer shares it) and reaches the container as a file of its own,
named by an AUTHELIA_*_FILE variable; configuration.yml holds none.
"""

from __future__ import annotations

import pulumi
import pulumi_random as random
import pulumi_tls as tls

from components.layer import LayerArgs, ServiceLayer
from components.secrets import generated_password
from config.spec import ServiceSpec, Tier
from render import authelia as render
from render.authelia import ldap_base_dn
from render.serialise import to_yaml

LLDAP_SECRETS = "/data/secrets"


class AuthLayer(ServiceLayer):
    """Authelia and (for the ldap backend) LLDAP."""

    tiers = (Tier.AUTH,)
    user_passwords: pulumi.Output[dict[str, str]]
    """Login -> generated password, a secret (file backend: the admin and settings' users; ldap: the LLDAP admin)."""

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:auth:AuthLayer", name, args, opts)
        self._name = name
        settings = self.settings
        self._ldap_admin: random.RandomPassword | None = None
        if settings.edge.auth.backend == "ldap":
            self._ldap_admin = generated_password(f"{name}-ldap-admin", self, length=32)
        passwords: dict[str, pulumi.Output[str]] = {}
        for spec in self.specs():
            if spec.name == "authelia":
                passwords = self._authelia(spec)
            elif spec.name == "lldap":
                self._lldap(spec)
            else:
                self.deploy(spec)
        self.user_passwords = pulumi.Output.secret(pulumi.Output.all(**passwords))
        self.finish(userPasswords=self.user_passwords)

    def _secret(self, role: str, length: int = 64) -> pulumi.Output[str]:
        return generated_password(f"{self._name}-{role}", self, length=length).result

    def _users(self) -> tuple[dict[str, pulumi.Output[str]], dict[str, pulumi.Output[str]]]:
        """Generated passwords and their bcrypt hashes, by login (file backend)."""
        passwords, hashes = {}, {}
        for user in render.users(self.settings):
            login = user["username"]
            password = generated_password(f"{self._name}-user-{login}", self, length=32)
            passwords[login], hashes[login] = password.result, password.bcrypt_hash
        return passwords, hashes

    def _authelia(self, spec: ServiceSpec) -> dict[str, pulumi.Output[str]]:
        settings, generated = self.settings, self._args.generated
        login = generated.databases["authelia"]
        secrets: dict[str, pulumi.Input[str]] = {
            "session": self._secret("session"),
            "jwt": self._secret("jwt"),
            "storage-encryption-key": self._secret("storage-encryption-key"),
            "postgres-password": login.password,
            "redis-password": generated.redis_password,
        }
        smtp_password = self._args.config_secrets.get("smtpPassword")
        if smtp_password is not None:
            secrets["smtp-password"] = smtp_password
        if self._ldap_admin is not None:
            secrets["ldap-password"] = self._ldap_admin.result
        # configuration.yml holds no secret and stays a plain input; the users' hashes, the OIDC key and
        # every secret named by an AUTHELIA_*_FILE variable are secret files.
        files: dict[str, pulumi.Input[str]] = {
            render.CONFIG_PATH: to_yaml(render.render_configuration(settings, login.database, login.role)),
        }
        secret_files: dict[str, pulumi.Input[str]] = {}
        passwords: dict[str, pulumi.Output[str]] = {}
        if settings.edge.auth.backend == "file":
            passwords, hashes = self._users()
            secret_files[render.USERS_PATH] = pulumi.Output.all(**hashes).apply(
                lambda digests: to_yaml(render.render_users(settings, digests))
            )
        elif self._ldap_admin is not None:
            passwords = {settings.edge.auth.admin_user: self._ldap_admin.result}
        clients = settings.oidc_client_names()
        if clients:
            secrets["oidc-hmac"] = self._secret("oidc-hmac")
            signing_key = tls.PrivateKey(
                f"{self._name}-oidc-signing-key",
                tls.PrivateKeyArgs(algorithm="RSA", rsa_bits=4096),
                opts=pulumi.ResourceOptions(
                    parent=self, additional_secret_outputs=["private_key_pem", "private_key_pem_pkcs8"]
                ),
            )
            digests = {app: generated.oidc_clients[app].bcrypt_hash for app in clients}
            secret_files[render.OIDC_PATH] = pulumi.Output.all(
                signing_key.private_key_pem, pulumi.Output.all(**digests)
            ).apply(lambda values: to_yaml(render.render_oidc(settings, values[0], values[1])))
        paths = render.secret_files(settings)
        for secret_name, path in paths.items():
            secret_files[path] = secrets[secret_name]
        env_spec = spec.model_copy(update={"env": {**spec.env, **render.config_env(settings)}})
        self.deploy(env_spec, files=files, secret_files=secret_files)
        return passwords

    def _lldap(self, spec: ServiceSpec) -> None:
        settings = self.settings
        assert self._ldap_admin is not None  # settings imply LLDAP only for the ldap backend
        auth = settings.edge.auth
        env = {
            "LLDAP_LDAP_BASE_DN": ldap_base_dn(settings),
            "LLDAP_LDAP_USER_DN": auth.admin_user,
            "LLDAP_LDAP_USER_EMAIL": auth.admin_email or f"admin@{settings.domain}",
            "LLDAP_HTTP_URL": f"https://{spec.subdomain}.{settings.domain}",
            "LLDAP_JWT_SECRET_FILE": f"{LLDAP_SECRETS}/jwt",
            "LLDAP_LDAP_USER_PASS_FILE": f"{LLDAP_SECRETS}/admin-password",
        }
        secret_files: dict[str, pulumi.Input[str]] = {
            f"{LLDAP_SECRETS}/jwt": self._secret("lldap-jwt"),
            f"{LLDAP_SECRETS}/admin-password": self._ldap_admin.result,
        }
        self.deploy(
            spec.model_copy(update={"env": {**spec.env, **env}}),
            secret_files=secret_files,
            secret_env={"LLDAP_KEY_SEED": self._secret("lldap-key-seed")},
        )
