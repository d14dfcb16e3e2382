"""The Label Studio ML backend: `dataprep serve` and `dataprep studio connect-model`.

Label Studio 1.23 speaks this protocol to a model server (read from its `ml/` and
`webhooks/` source): `GET /health` and `POST /setup` before every prediction call
(setup's `model_version` decides whether a task's stored prediction is stale),
`POST /predict` with a batch of task dicts (one result per task), `POST /webhook` for
the project webhook it creates at `<url>/webhook` (every action; annotation events,
and `START_TRAINING` from the UI's "Start training"), `GET /versions`.

- `app`: the HTTP face (Starlette on uvicorn): routes, the shared secret, nothing slow.
- `predictor`: task dicts -> predictions from the stored model; features of samples the
  project never saw are computed as the features stage computes them.
- `trainer`: one process beside the HTTP workers: debounced retraining on annotation
  events and a periodic reconciliation pull, on validated labels only.
- `secret`: the shared secret (HTTP Basic auth, as Label Studio's ML connector sends it).
- `connect`: registering the backend on a Label Studio project, idempotently.
- `server`: starting the trainer and the HTTP workers together.
"""
