/* bt-resume.c: what to do with the answer to a (range) request
 *
 * The decision table of docs/contract.md "Persistence and resuming" as a pure function:
 * data is appended only after a 206 whose Content-Range is valid, starts
 * exactly where the partial data ends and agrees with the size learnt
 * before; anything else starts over, so versions are never mixed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-resume.h"

static gboolean
parse_u64 (const char **p, guint64 *out)
{
  guint64 v = 0;
  const char *s = *p;

  if (!g_ascii_isdigit (*s))
    return FALSE;
  while (g_ascii_isdigit (*s))
    {
      guint d = (guint) (*s - '0');

      if (v > (G_MAXUINT64 - d) / 10)
        return FALSE;
      v = v * 10 + d;
      s++;
    }
  *p = s;
  *out = v;
  return TRUE;
}

/* RFC 9110 §14.4: "bytes first-last/complete" or "bytes * /complete" (without
 * the space). A '*' complete length is reported as BT_SIZE_UNKNOWN; an
 * unsatisfied range as first = last = BT_SIZE_UNKNOWN. */
gboolean
bt_parse_content_range (const char *value, guint64 *out_first, guint64 *out_last,
                        guint64 *out_complete)
{
  const char *p = value;
  guint64 first = BT_SIZE_UNKNOWN, last = BT_SIZE_UNKNOWN, complete = BT_SIZE_UNKNOWN;

  if (value == NULL)
    return FALSE;
  while (*p == ' ' || *p == '\t')
    p++;
  if (g_ascii_strncasecmp (p, "bytes", 5) != 0)
    return FALSE;
  p += 5;
  if (*p != ' ')
    return FALSE;
  while (*p == ' ')
    p++;

  if (*p == '*')
    {
      p++;
      if (*p++ != '/' || !parse_u64 (&p, &complete))
        return FALSE;
    }
  else
    {
      if (!parse_u64 (&p, &first) || *p++ != '-' || !parse_u64 (&p, &last) || *p++ != '/')
        return FALSE;
      if (*p == '*')
        p++;
      else if (!parse_u64 (&p, &complete))
        return FALSE;
      if (last < first)
        return FALSE;
      if (complete != BT_SIZE_UNKNOWN && last >= complete)
        return FALSE;
    }

  while (*p == ' ' || *p == '\t')
    p++;
  if (*p != '\0')
    return FALSE;

  *out_first = first;
  *out_last = last;
  *out_complete = complete;
  return TRUE;
}

gboolean
bt_etag_is_strong (const char *etag)
{
  gsize len;

  if (etag == NULL)
    return FALSE;
  len = strlen (etag);
  /* A strong entity tag is a quoted string; W/"…" is weak. */
  return len >= 2 && etag[0] == '"' && etag[len - 1] == '"';
}

BtResumeAction
bt_resume_decide (const BtResumeRequest *request, guint status, const char *content_range,
                  gint64 content_length, guint64 *out_offset, guint64 *out_total)
{
  guint64 first, last, complete;

  *out_offset = 0;
  *out_total = BT_SIZE_UNKNOWN;

  if (status == 200)
    {
      /* A full body: to a range request it means the server ignored the
       * range or the If-Range validator no longer matched. From offset 0
       * it is the data asked for, unless it is another version. */
      if ((request->offset > 0 || request->ranged) && request->validator_changed
          && request->fail_if_changed)
        return BT_RESUME_CHANGED;
      if (content_length >= 0)
        *out_total = (guint64) content_length;
      if (request->offset > 0 || (request->ranged && request->validator_changed))
        return BT_RESUME_RESTART;
      return BT_RESUME_WRITE;
    }

  if (status == 206)
    {
      if (request->offset == 0 && !request->ranged)
        return BT_RESUME_PROTOCOL_ERROR; /* we never asked for a range */
      if (!bt_parse_content_range (content_range, &first, &last, &complete)
          || first == BT_SIZE_UNKNOWN)
        return BT_RESUME_RESTART; /* invalid: never recombine */
      if (request->validator_changed)
        return request->fail_if_changed ? BT_RESUME_CHANGED : BT_RESUME_RESTART;
      if (complete != BT_SIZE_UNKNOWN && request->known_total != BT_SIZE_UNKNOWN
          && complete != request->known_total)
        return request->fail_if_changed ? BT_RESUME_CHANGED : BT_RESUME_RESTART;
      if (first != request->offset)
        return BT_RESUME_RESTART;
      if (content_length >= 0 && (guint64) content_length != last - first + 1)
        return BT_RESUME_PROTOCOL_ERROR;

      *out_offset = first;
      *out_total = complete != BT_SIZE_UNKNOWN ? complete : request->known_total;
      return BT_RESUME_WRITE;
    }

  if (status == 416)
    {
      if (request->offset == 0 && !request->ranged)
        return BT_RESUME_PROTOCOL_ERROR; /* we never asked for a range */
      /* "bytes * /N": done if what we hold is exactly N bytes */
      if (bt_parse_content_range (content_range, &first, &last, &complete)
          && first == BT_SIZE_UNKNOWN && complete == request->offset
          && (request->known_total == BT_SIZE_UNKNOWN || request->known_total == complete))
        {
          *out_offset = complete;
          *out_total = complete;
          return BT_RESUME_COMPLETE;
        }
      return BT_RESUME_RESTART;
    }

  return BT_RESUME_PROTOCOL_ERROR;
}
