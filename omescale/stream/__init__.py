"""Streamed pyramid writes: units computed arithmetically, submitted in a bounded window.

This room schedules work and computes nothing: ``units`` cuts a plan into independent work
units (arithmetic, lazy), ``window`` keeps a bounded number of them in flight on the active
scheduler, ``job`` runs them with resume, progress and retries. What one unit computes and
writes is built by ``omescale.ngff.streamed``.
"""
