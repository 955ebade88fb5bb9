"""CUDA add-on for timbrefast: ships `timbrefast_cu13._cuda`, which timbrefast
loads when its own wheel has no CUDA module (see timbrefast.backends())."""
