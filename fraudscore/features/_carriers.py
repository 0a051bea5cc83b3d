"""Mobile carrier names as browsers and app SDKs report them, and the country of each.

A partial, hand-made table of the largest carriers of the countries the simulator knows (names as
``navigator.connection``-style collectors and Android's ``TelephonyManager.getNetworkOperatorName``
report them). A carrier not in the table is unknown (NaN features), never "foreign".
"""

from __future__ import annotations

__all__ = ["CARRIER_COUNTRY", "carrier_country"]

_BY_COUNTRY = {
    "US": ("Verizon", "T-Mobile", "AT&T", "US Cellular", "Cricket", "Boost Mobile"),
    "GB": ("EE", "Vodafone UK", "O2 - UK", "Three", "giffgaff"),
    "CA": ("Rogers", "Bell", "Telus", "Freedom Mobile"),
    "AU": ("Telstra", "Optus", "Vodafone AU"),
    "DE": ("Telekom.de", "Vodafone.de", "o2 - de"),
    "FR": ("Orange F", "SFR", "Bouygues Telecom", "Free"),
    "ES": ("Movistar", "Vodafone ES", "Orange ES"),
    "MX": ("Telcel", "AT&T MX", "Movistar MX"),
    "BR": ("Vivo", "Claro BR", "TIM BR"),
    "IN": ("Jio", "Airtel", "Vi India", "BSNL"),
    "NL": ("KPN", "Vodafone NL", "Odido"),
    "IT": ("TIM", "Vodafone IT", "WindTre", "Iliad"),
    "PL": ("Play", "Orange PL", "Plus"),
    "PH": ("Globe", "Smart", "DITO"),
    "NG": ("MTN NG", "Airtel NG", "Glo", "9mobile"),
    "BD": ("Grameenphone", "Robi", "Banglalink", "Teletalk"),
    "VN": ("Viettel", "Mobifone", "Vinaphone"),
    "PK": ("Jazz", "Zong", "Telenor PK", "Ufone"),
    "KE": ("Safaricom", "Airtel KE", "Telkom Kenya"),
    "JP": ("NTT DOCOMO", "au", "SoftBank", "Rakuten"),
}

#: Lower-cased carrier name -> ISO 3166-1 alpha-2 country.
CARRIER_COUNTRY: dict[str, str] = {name.lower(): country for country, names in _BY_COUNTRY.items() for name in names}


def carrier_country(name) -> str:
    """Country of a carrier name (``""`` when the table does not know it)."""
    return CARRIER_COUNTRY.get(str(name).strip().lower(), "")
