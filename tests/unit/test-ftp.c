/* Unit tests of FTP reply parsing (FAULTS S12)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-ftp-reply.h"

static void
test_epsv (void)
{
  guint16 port = 0;

  g_assert_true (bt_ftp_parse_epsv ("229 Entering Extended Passive Mode (|||6446|)", &port));
  g_assert_cmpuint (port, ==, 6446);
  g_assert_true (bt_ftp_parse_epsv ("229 ok (!!!21!)", &port));
  g_assert_cmpuint (port, ==, 21);
  g_assert_false (bt_ftp_parse_epsv ("229 Entering Extended Passive Mode", &port));
  g_assert_false (bt_ftp_parse_epsv ("229 (|||0|)", &port));
  g_assert_false (bt_ftp_parse_epsv ("229 (|||70000|)", &port));
  g_assert_false (bt_ftp_parse_epsv ("229 (||6446|)", &port));
  g_assert_false (bt_ftp_parse_epsv ("229 (|||abc|)", &port));
}

static void
test_pasv (void)
{
  guint16 port = 0;

  g_assert_true (bt_ftp_parse_pasv ("227 Entering Passive Mode (127,0,0,1,117,48).", &port));
  g_assert_cmpuint (port, ==, 117 * 256 + 48);
  /* the address is ignored: a server pointing elsewhere gains nothing */
  g_assert_true (bt_ftp_parse_pasv ("227 Entering Passive Mode (10,1,2,3,4,1)", &port));
  g_assert_cmpuint (port, ==, 4 * 256 + 1);
  g_assert_true (bt_ftp_parse_pasv ("227 =127,0,0,1,0,21", &port));
  g_assert_cmpuint (port, ==, 21);
  g_assert_false (bt_ftp_parse_pasv ("227 Entering Passive Mode (127,0,0,1,300,1)", &port));
  g_assert_false (bt_ftp_parse_pasv ("227 Entering Passive Mode (127,0,0,1)", &port));
  g_assert_false (bt_ftp_parse_pasv ("227 Entering Passive Mode", &port));
  g_assert_false (bt_ftp_parse_pasv ("227 (1,2,3,4,0,0)", &port));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ftp/epsv", test_epsv);
  g_test_add_func ("/ftp/pasv", test_pasv);

  return g_test_run ();
}
