"""eHDSI National Contact Point for eHealth (NCPeH) for Luxembourg, and the DSP record store."""

__version__ = "0.1.0"
