"""The shape of a customer id, shared by the issuer paths and the token checks."""

from __future__ import annotations

import re

# 2-63 characters of a-z, 0-9 and '-', not starting with '-' (digits-only ids are valid).
CUSTOMER_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
