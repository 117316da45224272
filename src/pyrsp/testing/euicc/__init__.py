"""A software eUICC behind real APDUs (SGP.22 section 5.7): ``VirtualEuicc``."""
