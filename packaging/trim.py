"""Keep the bundle lean: drop the Qt parts the panel never uses, then (on Linux) the libraries only they needed.

PyInstaller's PyQt6 hooks collect every plugin of QtGui and all of Qt's translations. The panel is plain widgets in
English: it needs a platform plugin (xcb, wayland, offscreen here; cocoa or windows elsewhere), the input contexts,
the xdg-desktop-portal theme for native file dialogs and the SVG icon engine, and nothing else. The GTK 3 theme
plugin is dropped on purpose: it drags half of the system's GTK stack (cairo, pango, gdk-pixbuf) into the bundle,
where it would meet the player's own GTK at run time.

Used by ``cocomposer.spec``; every function takes and returns PyInstaller TOC lists of ``(dest, source, kind)``.
"""

from __future__ import annotations

import posixpath
import sys
from pathlib import PurePosixPath

QT = "PyQt6/Qt6/"
DROPPED_PREFIXES = (
    QT + "translations/",
    QT + "plugins/generic/",  # evdev and TUIO input, for kiosk devices without a window system
    QT + "plugins/egldeviceintegrations/",
    QT + "plugins/platforms/libqlinuxfb",
    QT + "plugins/platforms/libqvnc",
    QT + "plugins/platforms/libqvkkhrdisplay",
    QT + "plugins/platforms/libqeglfs",
    QT + "plugins/platforms/libqminimalegl",
    QT + "plugins/platformthemes/libqgtk3",
    QT + "plugins/imageformats/",  # the panel draws everything itself; the SVG icon engine carries its own reader
)
KEPT_DESPITE_PREFIX = (QT + "plugins/imageformats/libqsvg",)


def _dest(entry: tuple) -> str:
    return str(PurePosixPath(*PurePosixPath(entry[0].replace("\\", "/")).parts))


def dropped(dest: str) -> bool:
    """Whether a bundle path belongs to a Qt part the panel never uses."""
    return dest.startswith(DROPPED_PREFIXES) and not dest.startswith(KEPT_DESPITE_PREFIX)


def drop_unused_qt(toc: list) -> list:
    """The TOC without the translations and plugins listed in :data:`DROPPED_PREFIXES`."""
    return [entry for entry in toc if not dropped(_dest(entry))]


def _is_dependency(dest: str) -> bool:
    """A shared library PyInstaller collected because something linked to it (in the top folder or Qt's lib/)."""
    path = PurePosixPath(dest)
    folder = str(path.parent)
    return path.name.startswith("lib") and ".so" in path.name and folder in (".", QT + "lib", QT.rstrip("/") + "/lib")


def drop_orphan_libraries(binaries: list) -> list:
    """On Linux, the binaries without the dependency libraries that nothing kept still links to.

    Everything that is not a plain dependency (Python's extension modules, the Qt plugins kept, onnxruntime's own
    libraries, libpython) is a root; the libraries reachable from the roots through their DT_NEEDED entries stay.
    Elsewhere the list comes back unchanged: the walk reads ELF files only.
    """
    if not sys.platform.startswith("linux"):
        return binaries
    from PyInstaller.depend.bindepend import get_imports

    def name(entry: tuple) -> str:
        return PurePosixPath(_dest(entry)).name

    by_name = {name(e): e for e in binaries if _is_dependency(_dest(e))}
    roots = [e for e in binaries if not _is_dependency(_dest(e)) or name(e).startswith("libpython")]
    needed: set[str] = set()
    todo = [e[1] for e in roots]
    while todo:
        for linked, _ in get_imports(todo.pop()):
            base = PurePosixPath(linked).name
            if base in by_name and base not in needed:
                needed.add(base)
                todo.append(by_name[base][1])
    return [e for e in binaries if not _is_dependency(_dest(e)) or name(e) in needed or e in roots]


def drop_dangling_links(binaries: list, datas: list) -> list:
    """``datas`` without the SYMLINK entries whose target was dropped (PyInstaller links each library it moved into
    a package folder from the top folder too)."""
    kept = {_dest(e) for e in binaries} | {_dest(e) for e in datas if e[2] != "SYMLINK"}

    def target(entry: tuple) -> str:
        return posixpath.normpath(posixpath.join(posixpath.dirname(_dest(entry)), entry[1].replace("\\", "/")))

    return [e for e in datas if e[2] != "SYMLINK" or target(e) in kept]
