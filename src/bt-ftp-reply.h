/* bt-ftp-reply.h: reading FTP replies
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A reply longer than this is refused ("a reply that does not end") */
#define BT_FTP_MAX_REPLY_LINES 200

typedef enum
{
  BT_FTP_REPLY_MORE,     /* a multi-line reply goes on: give the next line */
  BT_FTP_REPLY_DONE,     /* the reply is complete */
  BT_FTP_REPLY_INVALID,  /* the first line is not an FTP reply */
  BT_FTP_REPLY_TOO_LONG, /* no last line within BT_FTP_MAX_REPLY_LINES */
} BtFtpReplyState;

typedef struct
{
  char code[4]; /* the three digits of the first line */
  char *first;  /* the first line, without its line end */
  guint n_lines;
} BtFtpReply;

BtFtpReplyState bt_ftp_reply_add_line (BtFtpReply *reply, const char *line);
guint bt_ftp_reply_get_code (const BtFtpReply *reply);
void bt_ftp_reply_clear (BtFtpReply *reply);

gboolean bt_ftp_parse_epsv (const char *text, guint16 *out_port);
gboolean bt_ftp_parse_pasv (const char *text, guint16 *out_port);
gboolean bt_ftp_parse_size (const char *text, guint64 *out_size);
char *bt_ftp_parse_mdtm (const char *text);

G_END_DECLS
