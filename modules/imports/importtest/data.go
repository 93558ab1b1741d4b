package importtest

import "strings"

// The tables below feed the generator. Names are common Brazilian first names
// and surnames, and cities are real municipalities with their UF and area
// code (DDD). The other values mimic what marketing tools put in lead exports.

var firstNames = [...]string{
	"João", "José", "Antônio", "Francisco", "Carlos", "Paulo", "Pedro", "Lucas",
	"Luiz", "Marcos", "Gabriel", "Rafael", "Daniel", "Marcelo", "Bruno",
	"Eduardo", "Felipe", "Raimundo", "Rodrigo", "Sebastião", "Vinícius",
	"Otávio", "Caio", "Thiago", "André", "Fábio", "Márcio", "Heitor", "Benício",
	"Maria", "Ana", "Francisca", "Antônia", "Adriana", "Juliana", "Márcia",
	"Fernanda", "Patrícia", "Aline", "Sandra", "Camila", "Amanda", "Bruna",
	"Jéssica", "Letícia", "Júlia", "Luciana", "Vanessa", "Mariana", "Gabriela",
	"Beatriz", "Larissa", "Conceição", "Lúcia", "Cecília", "Flávia", "Inês",
	"Tânia", "Débora", "Mônica", "Raíssa", "Valéria",
}

// surnames may carry a particle ("da Silva"), which stays in the name but is
// dropped from e-mail addresses and company names.
var surnames = [...]string{
	"Silva", "da Silva", "Santos", "dos Santos", "Oliveira", "Souza", "de Souza",
	"Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes", "Costa",
	"Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes",
	"Vieira", "Barbosa", "Rocha", "Dias", "Nascimento", "Andrade", "Moreira",
	"Nunes", "Marques", "Machado", "Mendes", "Freitas", "Cardoso", "Ramos",
	"Gonçalves", "Santana", "Teixeira", "Araújo", "da Conceição", "Brandão",
	"Falcão", "Magalhães", "Simões", "Guimarães", "Assunção", "Damião", "Leão",
	"Sá", "Brito", "Peixoto", "Gusmão", "Antunes", "Lacerda",
}

// city is a municipality with its two-letter state (UF) and its area code.
type city struct {
	name     string
	state    string
	areaCode string
}

var cities = [...]city{
	{"São Paulo", "SP", "11"},
	{"Campinas", "SP", "19"},
	{"Santos", "SP", "13"},
	{"Ribeirão Preto", "SP", "16"},
	{"Sorocaba", "SP", "15"},
	{"São José dos Campos", "SP", "12"},
	{"Rio de Janeiro", "RJ", "21"},
	{"Niterói", "RJ", "21"},
	{"Belo Horizonte", "MG", "31"},
	{"Juiz de Fora", "MG", "32"},
	{"Uberlândia", "MG", "34"},
	{"Vitória", "ES", "27"},
	{"Porto Alegre", "RS", "51"},
	{"Caxias do Sul", "RS", "54"},
	{"Curitiba", "PR", "41"},
	{"Londrina", "PR", "43"},
	{"Florianópolis", "SC", "48"},
	{"Joinville", "SC", "47"},
	{"Salvador", "BA", "71"},
	{"Feira de Santana", "BA", "75"},
	{"Fortaleza", "CE", "85"},
	{"Recife", "PE", "81"},
	{"Natal", "RN", "84"},
	{"João Pessoa", "PB", "83"},
	{"Maceió", "AL", "82"},
	{"Aracaju", "SE", "79"},
	{"Teresina", "PI", "86"},
	{"São Luís", "MA", "98"},
	{"Belém", "PA", "91"},
	{"Manaus", "AM", "92"},
	{"Macapá", "AP", "96"},
	{"Boa Vista", "RR", "95"},
	{"Porto Velho", "RO", "69"},
	{"Rio Branco", "AC", "68"},
	{"Palmas", "TO", "63"},
	{"Brasília", "DF", "61"},
	{"Goiânia", "GO", "62"},
	{"Campo Grande", "MS", "67"},
	{"Cuiabá", "MT", "65"},
}

// emailDomains are under the reserved top-level domain .invalid, which never
// resolves, so no message can reach a real mailbox.
var emailDomains = [...]string{"exemplo.invalid", "teste.invalid"}

// companyPatterns take a surname without its particle.
var companyPatterns = [...]string{
	"%s & Filhos Ltda",
	"Comércio %s Ltda",
	"Distribuidora %s",
	"Construtora %s S.A.",
	"%s Tecnologia ME",
	"Clínica %s",
	"Padaria %s",
	"Auto Peças %s",
}

var origins = [...]string{
	"google_ads", "facebook", "instagram", "indicacao", "site", "evento",
	"linkedin", "whatsapp",
}

var campaigns = [...]string{
	"black_friday_2025", "natal_2025", "verao_2026", "volta_as_aulas_2026",
	"webinar_investimentos", "feirao_imoveis", "remarketing_q4",
	"lancamento_app",
}

var interests = [...]string{
	"plano_premium", "consultoria", "financiamento_imovel", "seguro_auto",
	"curso_online", "energia_solar", "plano_saude",
}

var tagValues = [...]string{
	"vip", "retorno", "whatsapp", "newsletter", "b2b", "b2c", "urgente",
	"orcamento",
}

// asciiFolder maps the lower-case accented letters of the tables above to
// plain ASCII for e-mail local parts. Apply it after strings.ToLower.
var asciiFolder = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ã", "a",
	"é", "e", "ê", "e",
	"í", "i",
	"ó", "o", "ô", "o", "õ", "o",
	"ú", "u", "ü", "u",
	"ç", "c",
)
