"""The loopback DNS server of tests/support/dns_server.py, answering A queries too: each
query for a name takes the next address from `server.a[name]` (the last one repeats), so
a test can tell whether a delivery looked the name up once or twice."""

import dns.message
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.IN.A import A

from tests.support.dns_server import TxtDnsServer


class AddressDnsServer(TxtDnsServer):
    def __init__(self) -> None:
        super().__init__()
        self.a: dict[str, list[str]] = {}
        self.a_queries: list[str] = []

    def _answer(self, query):
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        if question.rdtype not in (dns.rdatatype.A, dns.rdatatype.AAAA) or name not in self.a:
            return super()._answer(query)
        response = dns.message.make_response(query)
        if question.rdtype == dns.rdatatype.A:
            self.a_queries.append(name)
            answers = self.a[name]
            address = answers.pop(0) if len(answers) > 1 else answers[0]
            rrset = dns.rrset.RRset(question.name, dns.rdataclass.IN, dns.rdatatype.A)
            rrset.add(A(dns.rdataclass.IN, dns.rdatatype.A, address), ttl=0)
            response.answer.append(rrset)
        return response  # AAAA: no answer (NOERROR, empty)
