"""The course's grader: ``tools/course grade SUBMISSIONS`` (``python -m grader`` with tools/ on the path).

One job per module:

* ``cli``: the command line;
* ``run``: grading a class (process pool) and one notebook;
* ``submissions``: finding notebooks and their students (nbgrader, Canvas, Moodle layouts);
* ``release``: the release notebooks, their locked cells, the cells to run;
* ``sandbox``: bubblewrap, the kernel zygote's client, each notebook's folder and limits;
* ``zygote`` and ``jail``: inside the sandbox, the fork server and the Linux calls that isolate each kernel;
* ``kernels``: running the cells (nbclient, jupyter_client over Unix sockets);
* ``in_kernel``: the grader's code inside the student's kernel;
* ``scoring``: cases, expected values, judging what the kernel sent;
* ``gradebook``: rows, statuses and the CSVs; ``lms``: Canvas and Moodle exports;
  ``feedback``: one HTML page per student;
* ``samples``: made-up submissions for the tests and the benchmark.

It lives outside optlib: students receive optlib, not the instructor's tools.
"""
