"""Bytes to storage: the multipart upload (:mod:`.upload`) and the pipeline that feeds it
(:mod:`.pipeline`)."""
