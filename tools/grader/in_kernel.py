"""The grader's code inside the student's kernel (loaded as module ``_course_grader``).

Untrusted once the student's cells have run: everything it sends back is data
(JSON of numbers and arrays, on the kernel's IOPub channel as one display
message of type ``MIME``) that the grader validates; the grader never
unpickles anything from the kernel.

* ``setup(inputs_path)`` runs BEFORE the student's cells: it reads the cases
  (a pickle the grader wrote) and remembers optlib's reference functions.
* ``collect(qid, user_ns)`` runs AFTER them, once per question: it calls the
  student's function on deep copies of every case. While it runs, the optlib
  callables the student must not use have their ``__code__`` swapped for a
  trap (which catches aliases such as ``from optlib.functional import adam_step
  as mine``), and a profile hook also catches calls into fresh copies of them
  and into ``optlib.checks``.
"""
import base64 as _b64
import copy as _copy
import importlib as _importlib
import pickle as _pickle
import sys as _sys
import types as _types

MIME = "application/vnd.course-grader+json"
_NUMERIC = "biufc"
_state = {"hits": [], "keys": {}}


class ReferenceCalled(BaseException):
    """Raised by a trapped optlib function (BaseException: `except Exception` won't swallow it)."""


def _resolve(name):
    module, _, attr = name.partition(":")
    obj = _importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _functions_of(obj):
    """The plain functions whose code a call to obj runs first (a class: its methods)."""
    if isinstance(obj, _types.FunctionType):
        return [obj]
    if isinstance(obj, type):
        found = []
        for value in vars(obj).values():
            value = getattr(value, "__func__", value)
            if isinstance(value, _types.FunctionType):
                found.append(value)
        return found
    return []


def setup(inputs_path):
    """Remember the cases and the original reference functions."""
    with open(inputs_path, "rb") as f:
        spec = _pickle.load(f)
    _state["spec"] = spec
    originals = {}
    for q in spec["questions"].values():
        for name in q["forbidden"]:
            if name in originals:
                continue
            try:
                obj = _resolve(name)
            except Exception:
                continue
            label = name.replace(":", ".")
            originals[name] = [(fn, fn.__code__, label) for fn in _functions_of(obj)]
    _state["originals"] = originals


def hit(label):
    _state["hits"].append(label)
    raise ReferenceCalled("calls " + label)


def _trap_code(fn, label):
    if fn.__code__.co_freevars:
        return None                 # cannot swap a closure's code; the profile hook still sees it
    ns = {}
    src = ("def {0}(*args, **kwargs):\n"
           "    import sys\n"
           "    sys.modules['_course_grader'].hit({1!r})\n").format(fn.__name__, label)
    exec(compile(src, "<course-grader-trap>", "exec"), ns)
    return ns[fn.__name__].__code__


def _install(forbidden):
    swapped, keys = [], {}
    for name in forbidden:
        for fn, code, label in _state["originals"].get(name, []):
            keys[(code.co_filename, code.co_name, code.co_firstlineno)] = label
            trap = _trap_code(fn, label)
            if trap is not None:
                swapped.append((fn, fn.__code__, fn.__defaults__, fn.__kwdefaults__))
                fn.__code__ = trap
    _state["keys"] = keys
    return swapped


def _restore(swapped):
    for fn, code, defaults, kwdefaults in swapped:
        fn.__code__ = code
        fn.__defaults__ = defaults
        fn.__kwdefaults__ = kwdefaults


def _profile(frame, event, arg):
    if event == "call":
        c = frame.f_code
        label = _state["keys"].get((c.co_filename, c.co_name, c.co_firstlineno))
        if label is None and (c.co_filename == _state["spec"]["checks_file"]
                              or c.co_filename.startswith(_state["spec"]["checks_dir"])):
            label = "optlib.checks." + c.co_name
        if label is not None:
            _state["hits"].append(label)


def _enc(x, depth=0):
    if depth > 16:
        return {"__unsupported__": "nested too deep"}
    np = _sys.modules.get("numpy")
    if x is None or isinstance(x, (bool, int, float, str)) and type(x) in (bool, int, float, str):
        return x
    if np is not None and isinstance(x, np.ndarray) and type(x) is np.ndarray:
        if x.dtype.kind not in _NUMERIC or x.nbytes > 16_000_000:
            return {"__unsupported__": "array of dtype %s, %d bytes" % (x.dtype, x.nbytes)}
        a = np.ascontiguousarray(x)
        return {"__ndarray__": a.dtype.str, "shape": list(a.shape),
                "data": _b64.b64encode(a.tobytes()).decode("ascii")}
    if np is not None and isinstance(x, np.generic) and x.dtype.kind in _NUMERIC:
        return {"__scalar__": x.dtype.str, "data": _b64.b64encode(x.tobytes()).decode("ascii")}
    if type(x) is tuple:
        return {"__tuple__": [_enc(v, depth + 1) for v in x]}
    if type(x) is list:
        return [_enc(v, depth + 1) for v in x]
    if type(x) is dict and all(type(k) is str for k in x):
        return {"__dict__": [[k, _enc(v, depth + 1)] for k, v in x.items()]}
    return {"__unsupported__": type(x).__module__ + "." + type(x).__qualname__}


def _describe(e):
    text = str(e).strip().splitlines()
    return type(e).__name__ + (": " + text[0][:200] if text else "")


def collect(qid, user_ns):
    """Call the student's function on every case of question qid; send the results."""
    q = _state["spec"]["questions"][qid]
    out = {"qid": qid, "defined": False, "results": []}
    fn = user_ns.get(q["function"])
    if callable(fn):
        out["defined"] = True
        for case in q["cases"]:
            _state["hits"] = []
            res = {}
            swapped = _install(q["forbidden"])
            try:
                kwargs = _copy.deepcopy(case)
                _sys.setprofile(_profile)
                try:
                    value = fn(**kwargs)
                finally:
                    _sys.setprofile(None)
                res["value"] = _enc(value)
                res["after"] = _enc({k: kwargs[k] for k in q["inputs"] if k in kwargs})
            except KeyboardInterrupt:
                raise                              # the cell's time limit: give up this question
            except NotImplementedError:
                res["error"] = "not implemented yet"
            except BaseException as e:             # ReferenceCalled, SystemExit, anything
                res["error"] = "raised " + _describe(e)
            finally:
                _restore(swapped)
                _state["keys"] = {}
            res["calls"] = list(dict.fromkeys(_state["hits"]))[:3]     # first calls first
            out["results"].append(res)
    from IPython.display import publish_display_data
    publish_display_data({MIME: out})
