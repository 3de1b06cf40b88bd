"""ProxyLayer: Traefik, CrowdSec and its bouncer, WireGuard: the only ways in.

Traefik reads a static file and a file-provider document generated from the
catalog (render/traefik.py); it never sees the Docker socket. CrowdSec reads
Traefik's access log; its bouncer answers Traefik's forward-auth with the
key both share (generated here). WireGuard (wg-easy) publishes its UDP port,
its admin UI is routed behind Authelia like every admin app, and the peers
named in settings are created through its API by a one-shot job.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from components.layer import LayerArgs, ServiceLayer
from components.secrets import generated_password
from config.ingress import ingress_address
from config.spec import NetworkName, ServiceSpec, Tier
from render import traefik as render
from render.routes import route_table, site_routes
from render.serialise import to_json, to_yaml

CROWDSEC_ACQUISITION = "/etc/crowdsec/acquis.d/traefik.yaml"
BOUNCER_NAME = "traefik"
WIREGUARD_ADMIN = "admin"
PEERS_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "wireguard" / "provision_peers.py"
PEERS_DIR = "/peers"
WIREGUARD_IPV6_CIDR = "fdcc:ad94:bacf:61a4::cafe:0/112"  # wg-easy wants both families set; IPv6 is disabled


class ProxyLayer(ServiceLayer):
    """The ingress and everything that guards it."""

    tiers = (Tier.EDGE,)
    routes: pulumi.Output[list[dict[str, str]]]
    """Every router with its hosts, path, auth policy and backend (the `routes` stack export)."""
    wireguard_password: pulumi.Output[str] | None

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:proxy:ProxyLayer", name, args, opts)
        self._name = name
        self._bouncer_key = generated_password(f"{name}-bouncer-key", self, length=48).result
        self.wireguard_password = None
        if self.settings.is_enabled("wireguard"):
            self.wireguard_password = generated_password(f"{name}-wireguard-admin", self, length=32).result
        handlers = {
            "traefik": self._traefik,
            "crowdsec": self._crowdsec,
            "crowdsec-bouncer": self._bouncer,
            "wireguard": self._wireguard,
            "wireguard-peers": self._wireguard_peers,
        }
        for spec in self.specs():
            handlers.get(spec.name, self._plain)(spec)
        self.routes = pulumi.Output.from_input(route_table(site_routes(self.settings)))
        outputs: dict[str, pulumi.Input[object]] = {"routes": self.routes}
        if self.wireguard_password is not None:
            outputs["wireguardAdminPassword"] = self.wireguard_password
        self.finish(**outputs)

    def specs(self) -> list[ServiceSpec]:
        # A service an earlier layer deployed (cloudflared, by the Cloudflare edge) is not deployed twice.
        return [spec for spec in super().specs() if spec.name not in self._args.peers]

    def _plain(self, spec: ServiceSpec) -> None:
        self.deploy(spec)

    def _traefik(self, spec: ServiceSpec) -> None:
        settings = self.settings
        files: dict[str, pulumi.Input[str]] = {
            render.STATIC_PATH: to_yaml(render.render_static(settings)),
            render.DYNAMIC_PATH: to_yaml(render.render_dynamic(settings)),
        }
        secret_files: dict[str, pulumi.Input[str]] = {}
        env = dict(spec.env)
        # Traefik gets its own token, limited to the DNS-01 challenge (Zone Read + DNS Edit on the zone), never the
        # program's cloudflareApiToken, which can rewrite the zone's WAF, cache rules and settings.
        token = self._args.config_secrets.get("cloudflareDnsToken")
        if settings.cloudflare.enabled and token is not None:
            # lego (Traefik's ACME client) reads any of its variables from a file named by <NAME>_FILE.
            secret_files[render.CLOUDFLARE_TOKEN_FILE] = token
            env["CF_DNS_API_TOKEN_FILE"] = render.CLOUDFLARE_TOKEN_FILE
        update: dict[str, object] = {"env": env}
        if settings.cloudflare.enabled and settings.cloudflare.mode == "tunnel":
            update["published"] = ()  # cloudflared dials out; the host opens no web port
        # A fixed address on the proxy network: the only source header-trusting apps believe (config/ingress.py).
        addresses = {NetworkName.PROXY: ingress_address(settings)}
        self.deploy(spec.model_copy(update=update), files=files, secret_files=secret_files, addresses=addresses)

    def _crowdsec(self, spec: ServiceSpec) -> None:
        acquisition = {"filenames": [render.ACCESS_LOG], "labels": {"type": "traefik"}}
        self.deploy(
            spec,
            files={CROWDSEC_ACQUISITION: to_yaml(acquisition)},
            # The LAPI registers the bouncer with this key at start (BOUNCER_KEY_<name>).
            secret_env={f"BOUNCER_KEY_{BOUNCER_NAME}": self._bouncer_key},
        )

    def _bouncer(self, spec: ServiceSpec) -> None:
        env = {**spec.env, "TRUSTED_PROXIES": ",".join(render.bouncer_trusted_proxies(self.settings))}
        self.deploy(
            spec.model_copy(update={"env": env}),
            secret_env={"CROWDSEC_BOUNCER_API_KEY": self._bouncer_key},
        )

    def _wireguard(self, spec: ServiceSpec) -> None:
        settings = self.settings
        wg = settings.edge.wireguard
        (udp,) = [p for p in spec.published if p.protocol == "udp"]
        env = {
            **spec.env,
            "INIT_ENABLED": "true",
            "INIT_USERNAME": WIREGUARD_ADMIN,
            "INIT_HOST": wg.endpoint or settings.cloudflare.public_address or "",
            "INIT_PORT": str(udp.external),
            "INIT_DNS": ",".join(wg.dns),
            "INIT_IPV4_CIDR": wg.client_cidr,
            "INIT_IPV6_CIDR": WIREGUARD_IPV6_CIDR,
            "INIT_ALLOWED_IPS": ",".join(wg.allowed_ips),
        }
        assert self.wireguard_password is not None  # generated whenever wireguard is enabled
        self.deploy(spec.model_copy(update={"env": env}), secret_env={"INIT_PASSWORD": self.wireguard_password})

    def _wireguard_peers(self, spec: ServiceSpec) -> None:
        assert self.wireguard_password is not None  # peers are provisioned only with wireguard enabled
        wireguard = self.settings.service("wireguard")
        peers = [peer.name for peer in self.settings.edge.wireguard.peers]
        env = {
            **spec.env,
            "WG_EASY_URL": f"http://{wireguard.name}:{wireguard.port}",
            "WG_EASY_USERNAME": WIREGUARD_ADMIN,
        }
        self.deploy(
            spec.model_copy(update={"env": env}),
            files={
                f"{PEERS_DIR}/provision_peers.py": PEERS_SCRIPT.read_text(),
                f"{PEERS_DIR}/peers.json": to_json({"peers": peers}),
            },
            secret_env={"WG_EASY_PASSWORD": self.wireguard_password},
        )
