"""``python -m services.activity``: run the activity Faust worker."""

from services.activity.app import main

main()
