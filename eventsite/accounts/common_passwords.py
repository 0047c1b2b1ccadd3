"""A short list of passwords people pick most often (10 characters or more, lower case).

Shorter ones are already refused by the length rule.
"""

COMMON_PASSWORDS = frozenset(
    """
    0123456789 0987654321 1111111111 1234567890 12345678910 123456789a 123456789q
    1234567890a 1234567890q 123123123123 1234512345 1234554321 1122334455 1212121212
    1q2w3e4r5t 1q2w3e4r5t6y 1qaz2wsx3edc a1b2c3d4e5 q1w2e3r4t5 zaq12wsxcde3 qazwsxedc123
    qwertyuiop qwertyuiop123 qwerty1234 qwerty12345 qwerty123456 asdfghjkl1 asdfghjkl123
    zxcvbnm123 zxcvbnm1234 abcdefghij abcd123456 abc1234567 aaaaaaaaaa abcabcabcabc
    password12 password123 password1234 password12345 passwordpassword passw0rd123
    p@ssw0rd123 p@ssword123 password!23 password123! mypassword mypassword1 mypassword123
    letmein123 letmeinplease welcome123 welcome1234 welcometo123 changeme123 changeit123
    administrator admin12345 admin123456 administrator1 rootpassword superuser123
    iloveyou123 iloveyou1234 iloveyouforever sunshine123 princess123 football123
    baseball123 basketball basketball1 superman123 batman12345 starwars123 pokemon123
    trustno1234 monkey12345 dragon12345 master12345 shadow12345 michael123 jennifer123
    liverpool1 chelsea123 arsenal123 computer123 internet123 whatever123 freedom123
    hello12345 helloworld helloworld1 helloworld123 loveyou123 secret1234 secretpassword
    football1234 soccer12345 summer2024 summer2025 summer2026 winter2025 winter2026
    spring2026 autumn2026 january2026 eventsite123 conference conference1 conference123
    correcthorse correcthorsebatterystaple
    """.split()  # noqa: SIM905 - a word list reads better as text
)
