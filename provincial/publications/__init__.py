"""Monthly publications of each port's filing data and the year-end evaluation of localities (issue 6).

- `figures`: the numbers, computed through a port's Area (what its administrators see);
- `documents`: the XLSX and PDF files made from those numbers;
- `services`: the rows (one per port, kind and period), periods, rebuilds, the hourly sweep;
- `build`: claims and exactly-once builds, and the notice once a row is ready;
- `files`: the files in storage, their names and downloads, temporary files;
- `signoff`: the months a port signs off (issue 20);
- `mail`: the notice to the port's contacts when a publication is ready.
The Celery tasks and beat schedules are in `provincial.tasks` and migration 0004.
"""
