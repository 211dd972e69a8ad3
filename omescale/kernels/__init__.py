"""Pure NumPy/SciPy kernels in whole-image coordinates; they know nothing of dask.

Every kernel takes the input *region* it needs plus the region's integer start, and evaluates the
method's global coordinate map, so the same code runs on the whole array and on one chunk.
"""
