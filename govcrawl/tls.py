"""TLS for government hosts stuck in the past: one more try with a permissive context.

Many county and department servers still speak only TLS 1.0/1.1, offer old
ciphers or small DH groups; OpenSSL's defaults refuse them (Scrapy already
allows unsafe legacy renegotiation).  When a download fails in the TLS
handshake, the spider marks the host (``mark_legacy``) and asks once more;
``LegacyTolerantContextFactory`` then gives that host — and only it — a
context that accepts TLS 1.0 and ``@SECLEVEL=0`` ciphers.  Certificates are
not verified either way (Scrapy's default), so nothing is lost in trust.
Counted as ``govcrawl/tls/legacy_retries``.
"""

from __future__ import annotations

from scrapy.core.downloader.contextfactory import _ScrapyCertificateOptions, _ScrapyClientContextFactory
from twisted.internet.ssl import TLSVersion

LEGACY_HOSTS: set[str] = set()
PERMISSIVE_CIPHERS = "DEFAULT:@SECLEVEL=0"


def mark_legacy(host: str) -> bool:
    """Remember ``host`` as a legacy TLS host; False when it already was (no second retry)."""
    host = host.lower()
    if host in LEGACY_HOSTS:
        return False
    LEGACY_HOSTS.add(host)
    return True


class _PermissiveOptions(_ScrapyCertificateOptions):
    """Scrapy's options, then ``@SECLEVEL=0`` set on the OpenSSL context itself.

    (Twisted turns a cipher string into a list of cipher names, which drops
    the ``@SECLEVEL`` directive: it has to be set on the context.)
    """

    def _makeContext(self, *args, **kwargs):
        ctx = super()._makeContext(*args, **kwargs)
        ctx.set_cipher_list(PERMISSIVE_CIPHERS.encode())
        return ctx


class _PermissiveContextFactory(_ScrapyClientContextFactory):
    def _get_cert_options(self):
        # Twisted disables TLS 1.0/1.1 with OP_NO_* flags unless told to go lower
        return _PermissiveOptions(**self._get_cert_options_kwargs(), insecurelyLowerMinimumTo=TLSVersion.TLSv1_0)


class LegacyTolerantContextFactory(_ScrapyClientContextFactory):
    """Scrapy's context factory, with a permissive twin for the hosts marked legacy."""

    _permissive: _PermissiveContextFactory | None = None

    def creatorForNetloc(self, hostname: bytes, port: int):
        if hostname.decode("ascii", "replace").lower() in LEGACY_HOSTS:
            if self._permissive is None:
                self._permissive = _PermissiveContextFactory(verify_certificates=self._verify_certificates)
            return self._permissive.creatorForNetloc(hostname, port)
        return super().creatorForNetloc(hostname, port)
