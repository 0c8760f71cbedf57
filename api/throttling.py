"""Request rates: per user for a signed-in caller (token or session), per address for anonymous requests (only the
schema and the description page answer them). The rates are ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, read at
each request (DRF reads them once, at import, which settings changed in tests would not reach)."""

from rest_framework import throttling
from rest_framework.settings import api_settings


class _CurrentRates:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class UserThrottle(_CurrentRates, throttling.UserRateThrottle):
    pass


class AnonThrottle(_CurrentRates, throttling.AnonRateThrottle):
    pass


class ScopedThrottle(_CurrentRates, throttling.ScopedRateThrottle):
    """A rate of its own for a costly endpoint (``throttle_scope`` on the view), per user, on top of the user's."""
