"""Code written for the published 3.x: the names it calls, and what they do here
(docs/upgrading.rst)."""
