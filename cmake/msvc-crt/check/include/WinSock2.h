/* WinSock2.h - Check 0.15.2 includes <WinSock2.h> (the Windows SDK's
 * spelling); Wine's SDK headers, used by the clang-cl toolchain, spell it
 * winsock2.h and the file system is case sensitive. */
#include <winsock2.h>
