/* bt-resume.h: what to do with the answer to a (range) request
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define BT_SIZE_UNKNOWN G_MAXUINT64

typedef enum
{
  BT_RESUME_WRITE,          /* write the body at *out_offset */
  BT_RESUME_RESTART,        /* drop the partial data, ask again from zero */
  BT_RESUME_COMPLETE,       /* nothing left to fetch: verify and finish */
  BT_RESUME_CHANGED,        /* the resource changed and the app asked to fail */
  BT_RESUME_PROTOCOL_ERROR, /* an answer that makes no sense */
} BtResumeAction;

typedef struct
{
  guint64 offset;             /* bytes already on disk; a Range was sent if > 0 */
  guint64 known_total;        /* size learnt earlier, BT_SIZE_UNKNOWN if none */
  gboolean validator_changed; /* the response's strong validator differs from the stored one */
  gboolean fail_if_changed;   /* option if-changed = fail */
  gboolean ranged;            /* a Range was sent even from offset 0 (a segment) */
} BtResumeRequest;

gboolean bt_parse_content_range (const char *value, guint64 *out_first, guint64 *out_last,
                                 guint64 *out_complete);

BtResumeAction bt_resume_decide (const BtResumeRequest *request, guint status,
                                 const char *content_range, gint64 content_length,
                                 guint64 *out_offset, guint64 *out_total);

gboolean bt_etag_is_strong (const char *etag);

G_END_DECLS
