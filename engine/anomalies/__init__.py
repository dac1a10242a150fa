"""Geochemical anomalies: what the pretrained geochemistry encoder cannot reconstruct.

`geochem_anomalies` is served from here, loaded on first use.
"""


def __getattr__(name):
    if name == "geochem_anomalies":
        from .reconstruction import geochem_anomalies

        return geochem_anomalies
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
