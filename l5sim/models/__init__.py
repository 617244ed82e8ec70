"""Cell models and their published presets (parameter records only; no numerics here)."""
from .adex import PRESETS_ADEX, AdexParams
from .izhikevich import (HETEROGENEITY, PRESETS_2003, PRESETS_2007, U_MODES, Izh2003Params,
                         Izh2007Params)
from .l5pyramidal import PRESETS_L5, L5PyramidalParams, dendrite_dc_current
from .synapses import RECEPTORS, ReceptorParams

__all__ = ["AdexParams", "PRESETS_ADEX", "Izh2007Params", "Izh2003Params", "L5PyramidalParams", "ReceptorParams",
           "PRESETS_2007", "PRESETS_2003", "PRESETS_L5", "RECEPTORS", "U_MODES",
           "HETEROGENEITY", "dendrite_dc_current"]
