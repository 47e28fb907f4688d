"""kefu (客服): an open-source omnichannel contact-center platform."""

__version__ = "0.1.0"
__all__ = ["__version__"]
