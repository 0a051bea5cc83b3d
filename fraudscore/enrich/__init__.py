"""Enrichment: what a user agent and an IP address say about a submission.

- :mod:`fraudscore.enrich.ua`: user agent → browser, OS, device class, known crawler
  (ua-parser, parsed once per unique UA, LRU across batches).
- :mod:`fraudscore.enrich.ip`: IP → country, AS organisation, hosting/VPN, private/invalid
  (offline geoip2fast data in sorted numpy ranges, ``np.searchsorted`` over unique addresses).

Both load their data lazily: importing this package is cheap.
"""

from fraudscore.enrich.ip import IPDatabase, IPInfo
from fraudscore.enrich.ua import DEVICE_CLASSES, UAInfo, UAParser, parse_user_agents

__all__ = ["IPDatabase", "IPInfo", "UAParser", "UAInfo", "parse_user_agents", "DEVICE_CLASSES"]
