"""Files: rows of CSV and Excel files in a local folder (exports, spreadsheets, drops).

`files.new_rows` emits one event per new row: rows appended to a file and the rows of
new files. It reads each file from where the last poll stopped (a byte offset for CSV),
so a big file is never read into memory and an appended row is read once.
"""

from relayflow.sdk import App

APP = App(
    key="files",
    title="Files",
    description="New rows of CSV and Excel (.xlsx) files in a local folder, one event each",
)
