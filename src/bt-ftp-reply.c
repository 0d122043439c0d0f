/* bt-ftp-reply.c: reading FTP replies that come from the network
 *
 * Pure functions, unit-tested and fuzzed (tests/fuzz/fuzz-ftp-reply.c):
 * the lines of a (multi-line) reply, the passive-mode replies, SIZE and
 * MDTM. The address of a 227 reply is never used (FAULTS S12, the FTP
 * bounce): the data connection goes to the control connection's peer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-ftp-reply.h"

/*
 * bt_ftp_reply_add_line:
 * @reply: a zeroed #BtFtpReply, then the one of the earlier lines
 * @line: the next line read from the control connection, without its end
 *
 * A reply is "123 text", or "123-text" then any lines up to one that
 * starts with "123 " (RFC 959 §4.2). Once it returns anything but
 * %BT_FTP_REPLY_MORE, @reply is complete (or refused) and only
 * bt_ftp_reply_clear() may be called on it.
 */
BtFtpReplyState
bt_ftp_reply_add_line (BtFtpReply *reply, const char *line)
{
  gsize length = strlen (line);

  /* Line ends and trailing blanks are not part of the reply */
  while (length > 0 && g_ascii_isspace (line[length - 1]))
    length--;
  reply->n_lines++;
  if (reply->first == NULL)
    {
      if (length < 3 || !g_ascii_isdigit (line[0]) || !g_ascii_isdigit (line[1])
          || !g_ascii_isdigit (line[2]))
        return BT_FTP_REPLY_INVALID;
      memcpy (reply->code, line, 3);
      reply->code[3] = '\0';
      reply->first = g_strndup (line, length);
      return length > 3 && line[3] == '-' ? BT_FTP_REPLY_MORE : BT_FTP_REPLY_DONE;
    }
  /* The last line: the same code, then a space (which the trimming above
   * removed if the text is empty) */
  if (length >= 3 && memcmp (line, reply->code, 3) == 0 && (length == 3 || line[3] == ' '))
    return BT_FTP_REPLY_DONE;
  if (reply->n_lines >= BT_FTP_MAX_REPLY_LINES)
    return BT_FTP_REPLY_TOO_LONG;
  return BT_FTP_REPLY_MORE;
}

/* Returns: the reply's code, 0 before a valid first line */
guint
bt_ftp_reply_get_code (const BtFtpReply *reply)
{
  if (reply->first == NULL)
    return 0;
  return (guint) g_ascii_strtoull (reply->code, NULL, 10);
}

void
bt_ftp_reply_clear (BtFtpReply *reply)
{
  g_clear_pointer (&reply->first, g_free);
  memset (reply, 0, sizeof *reply);
}

/* The text after "CODE ": NULL unless @text is a reply with that code */
static const char *
reply_text (const char *text, const char *code)
{
  if (!g_str_has_prefix (text, code) || (text[3] != ' ' && text[3] != '-'))
    return NULL;
  text += 4;
  while (*text == ' ')
    text++;
  return text;
}

/*
 * bt_ftp_parse_size:
 * @text: the first line of a reply to SIZE: "213 12345" (RFC 3659 §4)
 *
 * Returns: %TRUE if @text gives a size: decimal digits only, no sign, no
 *   overflow (anything else leaves the size unknown)
 */
gboolean
bt_ftp_parse_size (const char *text, guint64 *out_size)
{
  const char *p = reply_text (text, "213");
  guint64 size = 0;

  if (p == NULL || !g_ascii_isdigit (*p))
    return FALSE;
  for (; g_ascii_isdigit (*p); p++)
    {
      guint digit = (guint) (*p - '0');

      if (size > (G_MAXUINT64 - 1 - digit) / 10)
        return FALSE; /* G_MAXUINT64 itself means "unknown" */
      size = size * 10 + digit;
    }
  while (g_ascii_isspace (*p))
    p++;
  if (*p != '\0')
    return FALSE;
  *out_size = size;
  return TRUE;
}

/*
 * bt_ftp_parse_mdtm:
 * @text: the first line of a reply to MDTM: "213 YYYYMMDDHHMMSS[.sss]"
 *   (RFC 3659 §3)
 *
 * Returns: (transfer full) (nullable): the time value as the server wrote
 *   it (compared, never interpreted), or %NULL if it is not one
 */
char *
bt_ftp_parse_mdtm (const char *text)
{
  const char *p = reply_text (text, "213");
  gsize digits, length;

  if (p == NULL)
    return NULL;
  digits = strspn (p, "0123456789");
  if (digits != 14)
    return NULL;
  length = digits;
  if (p[length] == '.')
    {
      gsize fraction = strspn (p + length + 1, "0123456789");

      if (fraction == 0 || fraction > 9)
        return NULL;
      length += 1 + fraction;
    }
  for (const char *rest = p + length; *rest != '\0'; rest++)
    if (!g_ascii_isspace (*rest))
      return NULL;
  return g_strndup (p, length);
}

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
