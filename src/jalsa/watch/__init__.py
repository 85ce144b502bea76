"""Disruption watch: probes of the platforms from volunteer vantage points, incident detection
and OONI import (issue 5)."""
