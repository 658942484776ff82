"""Bulk jobs: the Capillary bulk actions applied to a whole file, chunk by chunk.

``model`` (the job), ``input`` (parsing an upload into chunks), ``actions`` (the registry of
what a chunk of each action does), ``worker`` (claiming and running jobs), ``results`` (the
per-row report).
"""
