"""Print a yescrypt hash of argv[1] made by libxcrypt (crypt_gensalt "$y$")."""
import ctypes
import ctypes.util
import sys

lib = ctypes.CDLL(ctypes.util.find_library("crypt"))
lib.crypt_gensalt.restype = ctypes.c_char_p
lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong,
                              ctypes.c_char_p, ctypes.c_int]
lib.crypt.restype = ctypes.c_char_p
lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
setting = lib.crypt_gensalt(b"$y$", 0, None, 0)
print(lib.crypt(sys.argv[1].encode(), setting).decode())
