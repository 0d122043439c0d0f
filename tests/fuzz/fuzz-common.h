/* fuzz-common.h: what the fuzz targets share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

/* The input as a NUL-terminated string, as headers and replies reach the
 * parsers (a NUL inside ends it, as it would in libsoup or a GDataInputStream) */
static inline char *
fuzz_string (const unsigned char *data, size_t size)
{
  return g_strndup ((const char *) data, size);
}

/* Splits the input at its first newline: a header's name, then its value */
static inline void
fuzz_split (const unsigned char *data, size_t size, char **out_first, char **out_rest)
{
  const unsigned char *nl = memchr (data, '\n', size);

  if (nl == NULL)
    {
      *out_first = g_strdup ("");
      *out_rest = fuzz_string (data, size);
      return;
    }
  *out_first = fuzz_string (data, (size_t) (nl - data));
  *out_rest = fuzz_string (nl + 1, size - (size_t) (nl - data) - 1);
}
