"""The CA certificate of a private Docker registry with a custom or self-signed TLS certificate."""

from __future__ import annotations

from typing import Final, Self

from kaptain.exceptions import InvalidConfigurationException
from kaptain.platform.config import defaults
from kaptain.platform.config.provider import FileBasedConfigurationProvider, read_config_file

__all__ = ["DockerRegistryCertificateProvider"]

_BEGIN: Final = "-----BEGIN CERTIFICATE-----"
_END: Final = "-----END CERTIFICATE-----"


class DockerRegistryCertificateProvider(FileBasedConfigurationProvider):
    """The CA certificate builds need to push to a registry with a custom TLS certificate.

    By default :meth:`from_file` loads ``$HOME/.tls/certificate.crt``; pass
    ``path=/path/to/certificate.crt`` for another location (for example a file mounted into
    the notebook from a Secret).
    """

    def __init__(self, certificate_body: str, certificate_path: str | None = None) -> None:
        """Creates the provider.

        Args:
            certificate_body: The PEM-encoded certificate (or bundle).
            certificate_path: Path the certificate was read from (optional, informative).

        Raises:
            InvalidConfigurationException: The body is not a PEM certificate.
        """
        if not isinstance(certificate_body, str) or _BEGIN not in certificate_body:
            raise InvalidConfigurationException(
                f"Registry certificate is not a PEM certificate (no {_BEGIN!r} line)"
                + (f": {certificate_path}" if certificate_path else "")
            )
        if certificate_body.count(_END) < certificate_body.count(_BEGIN):
            raise InvalidConfigurationException(
                f"Registry certificate is truncated (a {_END!r} line is missing)"
                + (f": {certificate_path}" if certificate_path else "")
            )
        self._body = certificate_body
        self._path = certificate_path

    @classmethod
    def from_file(cls, path: str | None = None) -> Self:
        """Loads a PEM certificate file.

        Args:
            path: The file; defaults to ``$HOME/.tls/certificate.crt`` (resolved now).

        Returns:
            The provider.

        Raises:
            InvalidConfigurationException: The file is missing (the message names it) or
                is not a PEM certificate.
        """
        location = path if path is not None else str(defaults.registry_certificate_path())
        return cls(read_config_file(location, "Registry certificate"), location)

    @property
    def certificate_body(self) -> str:
        """The PEM text."""
        return self._body

    @property
    def certificate_path(self) -> str | None:
        """The file the certificate came from, if any."""
        return self._path

    def get_secret_body(self) -> dict[str, str]:
        """The body of the certificate Secret.

        Returns:
            ``{"ca.crt": <certificate_body>}``.
        """
        return {"ca.crt": self._body}

    @property
    def description(self) -> str:
        """Number of certificates and source path."""
        count = self._body.count(_BEGIN)
        source = f", certificate_path={self._path!r}" if self._path else ""
        return f"certificates={count}{source}"
