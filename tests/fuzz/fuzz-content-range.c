/* fuzz-content-range.c: Content-Range, and the resume decision it feeds
 *
 * Input: a Content-Range value. Whatever it says, a parsed range is
 * ordered, and the decision for a 206 never writes outside what the
 * server claims.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-resume.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  g_autofree char *value = fuzz_string (data, size);
  guint64 first, last, complete;
  static const guint statuses[] = { 200, 206, 416 };
  static const guint64 offsets[] = { 0, 1, 100, G_MAXUINT64 - 1 };

  if (bt_parse_content_range (value, &first, &last, &complete))
    {
      if (first != BT_SIZE_UNKNOWN)
        {
          g_assert_cmpuint (first, <=, last);
          if (complete != BT_SIZE_UNKNOWN)
            g_assert_cmpuint (last, <, complete);
        }
      else
        g_assert_cmpuint (last, ==, BT_SIZE_UNKNOWN);
    }

  for (gsize s = 0; s < G_N_ELEMENTS (statuses); s++)
    for (gsize o = 0; o < G_N_ELEMENTS (offsets); o++)
      for (int flags = 0; flags < 8; flags++)
        {
          BtResumeRequest request = {
            .offset = offsets[o],
            .known_total = (flags & 1) ? 1000 : BT_SIZE_UNKNOWN,
            .validator_changed = (flags & 2) != 0,
            .fail_if_changed = (flags & 2) != 0,
            .ranged = (flags & 4) != 0,
          };
          guint64 offset = 0, total = 0;
          BtResumeAction action = bt_resume_decide (&request, statuses[s], value,
                                                    (gint64) (size % 7) - 1, &offset, &total);

          g_assert_cmpint (action, >=, BT_RESUME_WRITE);
          g_assert_cmpint (action, <=, BT_RESUME_PROTOCOL_ERROR);
          /* Resuming writes where we are: never a blind append elsewhere */
          if (action == BT_RESUME_WRITE && statuses[s] == 206)
            g_assert_cmpuint (offset, ==, request.offset);
        }
  return 0;
}
