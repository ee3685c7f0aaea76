"""Dask DataFrames to S3 and to a dataset: the partitions are checked, encoded and uploaded by
the workers that hold them; the client sends only requests and never gathers a row.

Importing this package registers ``ddf.nexosis``; :mod:`nexosis_pandas` imports it as soon as
``dask.dataframe`` is imported (see :func:`nexosis_pandas._hooks.after_import`), so the package
itself never imports dask.

How a frame becomes one object
------------------------------
1. The client starts one S3 multipart upload (:class:`~nexosis_pandas._storage.upload.Multipart`).
2. **One task per partition** (:func:`~nexosis_pandas._dask.worker.upload_partition`), run where
   the partition is: the partition is checked as a pandas frame would be (column names,
   metadata, roles; an error names the partition, the column and the value), scanned, encoded
   with the pandas encoder (a few threads, in order) and sent as parts. The header is written
   by partition 0 only, JSON's closing bracket by the last, and partition ``i`` owns the part
   numbers ``i*k+1 ... (i+1)*k`` (``k = 10000 // npartitions``). S3 needs every part but the
   last to hold 5 MiB, so each partition keeps its first 5 MiB (its head) back for a neighbour
   whose end is smaller; when its own bytes reach that size it sends the head as its first part
   at once, and the client releases the kept copy as soon as no neighbour can need it.
3. The client merges the partitions' scans (whole floats, datetime units); the rare partition
   whose own scans differ is encoded again, so the object holds byte for byte the text of the
   computed frame. It checks keys across partitions (:mod:`~nexosis_pandas._dask.keys`), joins
   the heads of small partitions into parts (:mod:`~nexosis_pandas._dask.assemble`), and
   completes the upload: one object, one import. On any error or interrupt it cancels the
   tasks and aborts the upload, so no object is written.

A frame imported under a content-addressed name (no ``s3_url``) needs its digest before the
upload, so its partitions are read twice (digest and checks, then upload): persist the frame
first when its source is expensive to read, or pass ``s3_url``. A worker holds its partition,
the encoder's few chunks in flight, one part, and the 5 MiB heads that may still be needed.

Modules: ``worker`` (what runs on the workers), ``runner`` (tasks on a distributed client or
local threads), ``assemble`` (which parts make the object), ``keys`` (repeats across
partitions), ``upload`` (the client's sequencing), ``accessor`` (``ddf.nexosis``).
"""

from nexosis_pandas._dask.accessor import DaskAccessor
from nexosis_pandas._dask.upload import (
    import_dask_dataframe,
    infer_dask_column_metadata,
    upload_dask_dataframe,
)

__all__ = [
    "DaskAccessor",
    "import_dask_dataframe",
    "infer_dask_column_metadata",
    "upload_dask_dataframe",
]
