/* fuzz-ftp-reply.c: what an FTP server says on the control connection
 *
 * Input: the bytes of the control connection, split into lines as the
 * engine's GDataInputStream does (any line end). Each reply is collected
 * line by line (bt_ftp_reply_add_line), and its first line read as every
 * reply the engine interprets: 227, 229, SIZE and MDTM.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-ftp-reply.h"
#include "fuzz-common.h"

static void
interpret (const char *text)
{
  guint16 port;
  guint64 size;
  g_autofree char *mdtm = NULL;

  if (bt_ftp_parse_epsv (text, &port) || bt_ftp_parse_pasv (text, &port))
    g_assert_cmpuint (port, >, 0);
  if (bt_ftp_parse_size (text, &size))
    g_assert_cmpuint (size, !=, G_MAXUINT64);
  mdtm = bt_ftp_parse_mdtm (text);
  if (mdtm != NULL)
    g_assert_cmpuint (strspn (mdtm, "0123456789."), ==, strlen (mdtm));
}

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  g_autofree char *text = fuzz_string (data, size);
  g_auto (GStrv) lines = NULL;
  BtFtpReply reply = { 0 };

  /* "\r\n", "\n" and "\r" all end a line (G_DATA_STREAM_NEWLINE_TYPE_ANY) */
  g_strdelimit (text, "\r", '\n');
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      BtFtpReplyState state = bt_ftp_reply_add_line (&reply, lines[i]);

      g_assert_cmpuint (reply.n_lines, <=, BT_FTP_MAX_REPLY_LINES);
      if (state == BT_FTP_REPLY_MORE)
        continue;
      if (state == BT_FTP_REPLY_DONE)
        {
          guint code = bt_ftp_reply_get_code (&reply);

          g_assert_cmpuint (code, <=, 999);
          g_assert_nonnull (reply.first);
          interpret (reply.first);
        }
      bt_ftp_reply_clear (&reply);
    }
  bt_ftp_reply_clear (&reply);
  return 0;
}
