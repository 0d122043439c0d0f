/* bt-ftp-reply.c: reading FTP replies that come from the network
 *
 * Pure functions, unit-tested: the passive-mode replies. The address of a
 * 227 reply is never used (FAULTS S12, the FTP bounce): the data
 * connection goes to the control connection's peer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-ftp-reply.h"

gboolean
bt_ftp_parse_epsv (const char *text, guint16 *out_port)
{
  const char *open = strchr (text, '(');
  char delim;
  guint64 port;
  const char *p;
  char *end;

  /* "229 Entering Extended Passive Mode (|||6446|)" */
  if (open == NULL || open[1] == '\0')
    return FALSE;
  delim = open[1];
  p = open + 1;
  if (p[0] != delim || p[1] != delim || p[2] != delim)
    return FALSE;
  p += 3;
  port = g_ascii_strtoull (p, &end, 10);
  if (end == p || *end != delim || port == 0 || port > 65535)
    return FALSE;
  *out_port = (guint16) port;
  return TRUE;
}

gboolean
bt_ftp_parse_pasv (const char *text, guint16 *out_port)
{
  guint64 n[6];
  const char *p = text;

  /* "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)": only the port is
   * used; the address is never trusted (FAULTS S12) */
  while (*p != '\0' && !g_ascii_isdigit (*p))
    p++;
  if (g_str_has_prefix (p, "227"))
    {
      p += 3;
      while (*p != '\0' && !g_ascii_isdigit (*p))
        p++;
    }
  for (int i = 0; i < 6; i++)
    {
      char *end;

      n[i] = g_ascii_strtoull (p, &end, 10);
      if (end == p || n[i] > 255)
        return FALSE;
      p = end;
      if (i < 5)
        {
          if (*p != ',')
            return FALSE;
          p++;
        }
    }
  if (n[4] * 256 + n[5] == 0)
    return FALSE;
  *out_port = (guint16) (n[4] * 256 + n[5]);
  return TRUE;
}
