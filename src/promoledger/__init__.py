"""promoledger: a self-hosted loyalty-promotion ledger that speaks Capillary's v2 promotion APIs."""

__version__ = "0.1.0"
